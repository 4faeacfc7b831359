package vault

// NewMemoryThrottle returns the in-memory limiter of earlier versions as a
// Throttle, for the benchmark that compares the database-backed throttle
// with it.
func NewMemoryThrottle() Throttle { return newMemoryThrottle() }

// DefaultThrottle returns the Throttle s uses.
func (s *Service) DefaultThrottle() Throttle { return s.throttle() }
