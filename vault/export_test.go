package vault

// PasswordChecks returns how many argon2id computations ran so far.
func PasswordChecks() uint64 { return hashRuns.Load() }

// LoginMinChecks is the number of password checks every sign-in costs at
// least.
const LoginMinChecks = loginMinChecks

// NewMemoryThrottle returns the in-memory limiter of earlier versions as a
// Throttle, for the benchmark that compares the database-backed throttle
// with it.
func NewMemoryThrottle() Throttle { return newMemoryThrottle() }

// DefaultThrottle returns the Throttle s uses.
func (s *Service) DefaultThrottle() Throttle { return s.throttle() }
