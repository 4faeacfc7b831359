package vault

// PasswordChecks returns how many argon2id computations ran so far.
func PasswordChecks() uint64 { return hashRuns.Load() }

// LoginMinChecks is the number of password checks every sign-in costs at
// least.
const LoginMinChecks = loginMinChecks
