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

// TestVerify_Kept checks kept checkpoints against complete and filtered
// bundles: those of the log pass; a fork's, a longer one and another log's
// fail; one a filtered bundle holds no checkpoint for is reported as not
// checked; and a note signed with another key does not parse.
func TestVerify_Kept(t *testing.T) {
	s := newFixture(t, 3, 7)
	fork := forkOf(t, 3, 7, 10)
	keptOf := func(src *memSource, size int64) *audit.KeptCheckpoint {
		t.Helper()
		for _, c := range src.cps {
			if c.Size == size {
				k, err := audit.ParseKept("kept-"+itoa(int(size)), c.Note, s.vkey)
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
		}
		t.Fatalf("no checkpoint of size %d", size)
		return nil
	}
	complete := exportBundle(t, s, s.opener(), audit.Filter{})
	filtered := exportBundle(t, s, s.opener(), audit.Filter{MatterID: "mat_1"})
	// A checkpoint of size 5 of the same events, which the log the bundles
	// come from never stored: a complete bundle checks it from its leaves,
	// a filtered one has nothing to check it against.
	fiveRoot := func() *audit.KeptCheckpoint {
		k := *keptOf(s, 3)
		five := newFixture(t, 5)
		k5 := keptOf(five, 5)
		k.Size, k.Root, k.Name = 5, k5.Root, "kept-5"
		return &k
	}()
	longer := *keptOf(s, 10)
	longer.Size, longer.Name = 11, "kept-11"
	foreign := *keptOf(s, 3)
	foreign.Origin, foreign.Name = "casevault/audit/ten_other", "kept-other"
	kept := []*audit.KeptCheckpoint{keptOf(s, 3), keptOf(s, 7), keptOf(s, 10), keptOf(fork, 3), keptOf(fork, 7), &longer, &foreign, fiveRoot}
	for _, tt := range []struct {
		name   string
		bundle []byte
		ok     []bool
		check  []bool
	}{
		{"Complete", complete, []bool{true, true, true, false, false, false, false, true}, []bool{true, true, true, true, true, true, true, true}},
		{"Filtered", filtered, []bool{true, true, true, false, false, false, false, false}, []bool{true, true, true, true, true, true, true, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := mustVerify(t, tt.bundle, audit.VerifyOptions{TrustedKey: s.vkey, Kept: kept})
			if len(res.Kept) != len(kept) {
				t.Fatalf("%d results, want %d", len(res.Kept), len(kept))
			}
			for i, r := range res.Kept {
				if r.Name != kept[i].Name || r.OK != tt.ok[i] || r.Checked != tt.check[i] || (r.OK != (r.Reason == "")) {
					t.Errorf("kept %s (fork %v): %+v, want ok %v, checked %v", kept[i].Name, i == 3 || i == 4, r, tt.ok[i], tt.check[i])
				}
			}
		})
	}
	if _, err := audit.ParseKept("x", s.cps[0].Note, testVKey(t, "another")); err == nil {
		t.Error("a checkpoint parses with another key")
	}
}

func testVKey(t *testing.T, seed string) string {
	_, vkey := testKey(t, "casevault-audit-test", seed)
	return vkey
}

// TestBundle_ConsistencyEverySize exports filtered bundles of logs of 1 to
// 40 events with a checkpoint stored at every size, so that both verifiers
// check consistency proofs of every shape between those sizes, and one of
// each with a hash changed fails in both.
func TestBundle_ConsistencyEverySize(t *testing.T) {
	for n := 1; n <= 40; n++ {
		s := newMemSource(t, testTenant, "every size")
		for i := range n {
			action := "document.view"
			if i%5 == 0 {
				action = "login"
			}
			s.add(t, audit.Entry{Action: action, Outcome: audit.OutcomeOK}, nil)
			if _, err := s.Checkpoint(context.Background(), testTenant); err != nil {
				t.Fatal(err)
			}
		}
		b := exportBundle(t, s, s.opener(), audit.Filter{Action: "login"})
		res := mustVerify(t, b, audit.VerifyOptions{TrustedKey: s.vkey})
		if got, want := res.Checkpoints, n+1; got != want {
			t.Fatalf("n=%d: %d checkpoints, want %d", n, got, want)
		}
		ls := splitBundle(t, b)
		for _, i := range checkpointLines(ls) {
			if !strings.Contains(ls[i].raw, `"consistency":["`) {
				continue // the header's size: an empty proof
			}
			bad := splitBundle(t, b)
			editMembers(t, &bad[i], func(m map[string]any) {
				c := m["consistency"].([]any)
				last := c[len(c)-1].(string)
				if last[0] == 'A' {
					c[len(c)-1] = "B" + last[1:]
				} else {
					c[len(c)-1] = "A" + last[1:]
				}
			})
			wantFail(t, joinBundle(bad), audit.VerifyOptions{TrustedKey: s.vkey}, 0)
		}
	}
}
