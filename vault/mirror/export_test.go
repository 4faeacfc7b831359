package mirror

import "time"

// SetReopenEvery sets how often a Late site retries, for a test; it
// returns a function that puts the default back.
func SetReopenEvery(d time.Duration) func() {
	reopenEvery = d
	return func() { reopenEvery = DefaultReopenEvery }
}
