package detect

import "time"

// maxEvidence caps the sequence numbers one counter keeps: an alert names
// at most this many events (the first ones that tripped it).
const maxEvidence = 1000

// window counts events in a sliding time window, keeping their sequence
// numbers as evidence.
type window struct {
	at    []time.Time
	seqs  []int64
	fired time.Time // when it last fired
}

// once reports whether the window may fire at t: it did not in the d
// before.
func (w *window) once(t time.Time, d time.Duration) bool {
	if !w.fired.IsZero() && t.Sub(w.fired) < d {
		return false
	}
	w.fired = t
	return true
}

// add counts an event at t (events arrive about in order) and drops those
// older than d before t. It returns how many are in the window.
func (w *window) add(t time.Time, seq int64, d time.Duration) int {
	w.prune(t, d)
	if len(w.at) < maxEvidence*4 {
		w.at, w.seqs = append(w.at, t), append(w.seqs, seq)
	}
	return len(w.at)
}

// prune drops the events older than d before t.
func (w *window) prune(t time.Time, d time.Duration) {
	cut := t.Add(-d)
	i := 0
	for i < len(w.at) && !w.at[i].After(cut) {
		i++
	}
	if i > 0 {
		w.at, w.seqs = w.at[i:], w.seqs[i:]
	}
}

// evidence returns a copy of the window's sequence numbers, at most
// maxEvidence.
func (w *window) evidence() []int64 { return capped(w.seqs) }

func capped(seqs []int64) []int64 {
	return append([]int64(nil), seqs[:min(len(seqs), maxEvidence)]...)
}

// distinct counts the distinct keys of events in a sliding time window:
// accounts failing from one source, or sources failing on one account.
type distinct struct {
	at    []time.Time
	keys  []string
	seqs  []int64
	fired time.Time
}

// once is window.once.
func (w *distinct) once(t time.Time, d time.Duration) bool {
	if !w.fired.IsZero() && t.Sub(w.fired) < d {
		return false
	}
	w.fired = t
	return true
}

// add counts an event with key at t and returns how many distinct keys
// the last d holds.
func (w *distinct) add(t time.Time, key string, seq int64, d time.Duration) int {
	cut := t.Add(-d)
	i := 0
	for i < len(w.at) && !w.at[i].After(cut) {
		i++
	}
	if i > 0 {
		w.at, w.keys, w.seqs = w.at[i:], w.keys[i:], w.seqs[i:]
	}
	if len(w.at) < maxEvidence*4 {
		w.at, w.keys, w.seqs = append(w.at, t), append(w.keys, key), append(w.seqs, seq)
	}
	seen := make(map[string]struct{}, len(w.keys))
	for _, k := range w.keys {
		seen[k] = struct{}{}
	}
	return len(seen)
}
