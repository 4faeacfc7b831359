package audit_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/casevault/casevault/audit"
)

// checkpointLines returns the indexes in ls of the checkpoint lines after
// the header's.
func checkpointLines(ls []line) []int {
	var out []int
	for i, l := range ls[2:] {
		if l.Type == "checkpoint" {
			out = append(out, i+2)
		}
	}
	return out
}

// editMembers re-encodes line l of a bundle with its members changed by fn.
func editMembers(tb testing.TB, l *line, fn func(m map[string]any)) {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(l.raw), &m); err != nil {
		tb.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	l.raw = string(b) + "\n"
}

// forkOf returns a log like newFixture's with the same key and events, but
// for event 2, with checkpoints at the given sizes.
func forkOf(tb testing.TB, cps ...int64) *memSource {
	tb.Helper()
	s := newMemSource(tb, testTenant, "fixture")
	for i, ev := range fixtureEvents {
		e := ev.e
		if i == 1 {
			e.ObjectID = "mat_forged"
		}
		seq := s.add(tb, e, ev.p)
		for _, c := range cps {
			if c == seq {
				if _, err := s.Checkpoint(context.Background(), testTenant); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	return s
}

// TestBundle_FilteredConsistency checks the stored checkpoints a filtered
// bundle carries with their consistency proofs to the header's checkpoint
// (docs/AUDIT-FORMAT.md §1, §7), in both verifiers: in place and verifying;
// tampered, missing, misplaced or forked ones failing; and older bundles,
// without them, still verifying.
func TestBundle_FilteredConsistency(t *testing.T) {
	s := newFixture(t, 3, 7)
	good := exportBundle(t, s, s.opener(), audit.Filter{MatterID: "mat_1"}) // events 2..6
	res := mustVerify(t, good, audit.VerifyOptions{TrustedKey: s.vkey})
	if res.Checkpoints != 4 {
		t.Fatalf("checkpoints = %d, want 4", res.Checkpoints)
	}
	ls := splitBundle(t, good)
	var order []string
	for _, l := range ls {
		switch l.Type {
		case "event":
			order = append(order, "e"+itoa(int(l.Seq)))
		case "checkpoint":
			_, size, _, err := audit.ParseCheckpointText(strings.SplitN(l.Note, "\n\n", 2)[0] + "\n")
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, "c"+itoa(int(size)))
		}
	}
	if got, want := strings.Join(order, " "), "c10 e2 e3 c3 e4 e5 e6 c7 c10"; got != want {
		t.Fatalf("lines %q, want %q", got, want)
	}
	if !strings.Contains(ls[len(ls)-2].raw, `"consistency":[]`) {
		t.Errorf("checkpoint of the header's size has no empty proof: %s", ls[len(ls)-2].raw)
	}
	cks := checkpointLines(ls)

	t.Run("OlderBundle", func(t *testing.T) {
		var old []line
		for i, l := range ls {
			if i < 2 || l.Type != "checkpoint" {
				old = append(old, l)
			}
		}
		mustVerify(t, joinBundle(old), audit.VerifyOptions{TrustedKey: s.vkey})
	})
	tamper := func(name string, fn func(ls []line) []line, seq int64) {
		t.Run(name, func(t *testing.T) {
			wantFail(t, joinBundle(fn(splitBundle(t, good))), audit.VerifyOptions{TrustedKey: s.vkey}, seq)
		})
	}
	for n, i := range cks[:2] {
		tamper("HashChanged"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[i], func(m map[string]any) {
				c := m["consistency"].([]any)
				h := c[0].(string)
				if h[0] == 'A' {
					c[0] = "B" + h[1:]
				} else {
					c[0] = "A" + h[1:]
				}
			})
			return ls
		}, 0)
		tamper("HashDropped"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[i], func(m map[string]any) { m["consistency"] = m["consistency"].([]any)[1:] })
			return ls
		}, 0)
		tamper("HashAdded"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[i], func(m map[string]any) {
				c := m["consistency"].([]any)
				m["consistency"] = append(c, c[0])
			})
			return ls
		}, 0)
		tamper("Missing"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[i], func(m map[string]any) { delete(m, "consistency") })
			return ls
		}, 0)
		tamper("Null"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[i], func(m map[string]any) { m["consistency"] = nil })
			return ls
		}, 0)
		tamper("Malformed"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[i], func(m map[string]any) { m["consistency"] = []any{"not a hash"} })
			return ls
		}, 0)
	}
	tamper("EmptyProofOfSmallerTree", func(ls []line) []line {
		editMembers(t, &ls[cks[0]], func(m map[string]any) { m["consistency"] = []any{} })
		return ls
	}, 0)
	tamper("ProofOnHeaderCheckpoint", func(ls []line) []line {
		editMembers(t, &ls[1], func(m map[string]any) { m["consistency"] = []any{} })
		return ls
	}, 0)
	tamper("ProofOnEvent", func(ls []line) []line {
		editMembers(t, &ls[eventIndex(t, ls, 4)], func(m map[string]any) { m["consistency"] = []any{} })
		return ls
	}, 0)
	tamper("CheckpointTooLate", func(ls []line) []line {
		// The checkpoint of size 3 after event 4.
		c := ls[cks[0]]
		ls = append(ls[:cks[0]], ls[cks[0]+1:]...)
		i := eventIndex(t, ls, 4) + 1
		return append(ls[:i], append([]line{c}, ls[i:]...)...)
	}, 0)
	tamper("CheckpointTooEarly", func(ls []line) []line {
		// The checkpoint of size 7 before event 6, which it covers.
		c := ls[cks[1]]
		ls = append(ls[:cks[1]], ls[cks[1]+1:]...)
		i := eventIndex(t, ls, 6)
		return append(ls[:i], append([]line{c}, ls[i:]...)...)
	}, 6)
	tamper("CheckpointsSwapped", func(ls []line) []line {
		ls[cks[1]], ls[cks[2]] = ls[cks[2]], ls[cks[1]]
		return ls
	}, 0)
	tamper("CheckpointRepeated", func(ls []line) []line {
		return append(ls[:cks[1]+1], ls[cks[1]:]...)
	}, 0)
	// A checkpoint of the fork (same key, event 2 different), with the
	// genuine proof or with the fork's own: neither reaches the header's.
	fork := forkOf(t, 3, 7, 10)
	fb := splitBundle(t, exportBundle(t, fork, fork.opener(), audit.Filter{MatterID: "mat_1"}))
	fcks := checkpointLines(fb)
	for n := range 2 {
		tamper("ForkedNote"+itoa(n), func(ls []line) []line {
			editMembers(t, &ls[cks[n]], func(m map[string]any) { m["note"] = fb[fcks[n]].Note })
			return ls
		}, 0)
		tamper("ForkedLine"+itoa(n), func(ls []line) []line {
			ls[cks[n]] = fb[fcks[n]]
			return ls
		}, 0)
	}

	t.Run("Complete", func(t *testing.T) {
		b := exportBundle(t, s, s.opener(), audit.Filter{})
		if strings.Contains(string(b), "consistency") {
			t.Fatal("a complete bundle carries consistency proofs")
		}
		cl := splitBundle(t, b)
		i := checkpointLines(cl)[0]
		editMembers(t, &cl[i], func(m map[string]any) { m["consistency"] = []any{} })
		wantFail(t, joinBundle(cl), audit.VerifyOptions{TrustedKey: s.vkey}, 0)
	})
}
