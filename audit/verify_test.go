package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/vault"
)

// checkpointSets are the stored checkpoints the tamper tests run against:
// where a checkpoint falls decides which check sees a change first.
var checkpointSets = []struct {
	name string
	cps  []int64
}{
	{"NoStoredCheckpoints", nil},
	{"Checkpoints3And7", []int64{3, 7}},
	{"CheckpointAfterEveryEvent", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
}

const fixtureSize = 10

// forEachFixture runs fn on a fresh fixture per checkpoint set.
func forEachFixture(t *testing.T, fn func(t *testing.T, s *memSource)) {
	for _, cs := range checkpointSets {
		t.Run(cs.name, func(t *testing.T) { fn(t, newFixture(t, cs.cps...)) })
	}
}

// editLeaf returns leaf with the first occurrence of old replaced by new.
func editLeaf(tb testing.TB, leaf []byte, old, new string) []byte {
	tb.Helper()
	if !bytes.Contains(leaf, []byte(old)) {
		tb.Fatalf("leaf %s has no %q", leaf, old)
	}
	return bytes.Replace(leaf, []byte(old), []byte(new), 1)
}

// Each tamper test changes one event k and checks, for every k, that the
// verifier names exactly k.
func TestVerify_TamperBundle(t *testing.T) {
	forEachFixture(t, func(t *testing.T, s *memSource) {
		good := exportBundle(t, s, s.opener(), audit.Filter{})
		mustVerify(t, good, audit.VerifyOptions{})
		tamper := func(t *testing.T, k int64, fn func(ls []line, i int) []line) {
			t.Helper()
			ls := splitBundle(t, good)
			wantFail(t, joinBundle(fn(ls, eventIndex(t, ls, k))), audit.VerifyOptions{}, k)
		}
		for k := int64(1); k <= fixtureSize; k++ {
			t.Run(fmt.Sprintf("Event%d", k), func(t *testing.T) {
				t.Run("EditLeaf", func(t *testing.T) {
					// Still decodes; only the hash of the leaf changes.
					tamper(t, k, func(ls []line, i int) []line {
						ls[i].Leaf = editLeaf(t, ls[i].Leaf, `"action":"`, `"action":"x`)
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("EditLeafPrev", func(t *testing.T) {
					tamper(t, k, func(ls []line, i int) []line {
						old, new := `"prev":""`, `"prev":"AAAA"`
						if k > 1 {
							old, new = `"prev":"`, `"prev":"AAAA`
						}
						ls[i].Leaf = editLeaf(t, ls[i].Leaf, old, new)
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("EditLeafSeq", func(t *testing.T) {
					tamper(t, k, func(ls []line, i int) []line {
						ls[i].Leaf = editLeaf(t, ls[i].Leaf, fmt.Sprintf(`"seq":%d,`, k), fmt.Sprintf(`"seq":%d,`, k+100))
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("LeafNotCanonical", func(t *testing.T) {
					tamper(t, k, func(ls []line, i int) []line {
						ls[i].Leaf = editLeaf(t, ls[i].Leaf, `,"tenant":`, `, "tenant":`)
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("LeafNotJSON", func(t *testing.T) {
					tamper(t, k, func(ls []line, i int) []line {
						ls[i].Leaf[0] = '['
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("Delete", func(t *testing.T) {
					tamper(t, k, func(ls []line, i int) []line { return append(ls[:i], ls[i+1:]...) })
				})
				if k < fixtureSize {
					t.Run("SwapWithNext", func(t *testing.T) {
						tamper(t, k, func(ls []line, i int) []line {
							j := eventIndex(t, ls, k+1)
							ls[i].raw, ls[j].raw = ls[j].raw, ls[i].raw
							return ls
						})
					})
					t.Run("SwapWithNextRenumbered", func(t *testing.T) {
						// The line numbers stay in order; the leaves move.
						tamper(t, k, func(ls []line, i int) []line {
							j := eventIndex(t, ls, k+1)
							ls[i].Leaf, ls[j].Leaf = ls[j].Leaf, ls[i].Leaf
							ls[i].Private, ls[j].Private = ls[j].Private, ls[i].Private
							ls[i].Nonce, ls[j].Nonce = ls[j].Nonce, ls[i].Nonce
							ls[i].remarshal(t)
							ls[j].remarshal(t)
							return ls
						})
					})
				}
				t.Run("PrivateChanged", func(t *testing.T) {
					if !fixtureHasPrivate(k) {
						t.Skip("event has no private part")
					}
					tamper(t, k, func(ls []line, i int) []line {
						p := strings.Replace(*ls[i].Private, `":"`, `":"Not `, 1)
						ls[i].Private = &p
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("NonceChanged", func(t *testing.T) {
					if fixtureEvents[k-1].p == nil {
						t.Skip("event has no private part")
					}
					tamper(t, k, func(ls []line, i int) []line {
						ls[i].Nonce[0] ^= 1
						ls[i].remarshal(t)
						return ls
					})
				})
				t.Run("TruncatedBefore", func(t *testing.T) {
					// Everything from event k on is gone, end line included.
					tamper(t, k, func(ls []line, i int) []line { return ls[:i] })
				})
				t.Run("TruncatedMidLine", func(t *testing.T) {
					tamper(t, k, func(ls []line, i int) []line {
						ls[i].raw = ls[i].raw[:len(ls[i].raw)/2]
						return ls[:i+1]
					})
				})
				t.Run("TruncatedBeforeEndLineFixed", func(t *testing.T) {
					// Cut after event k-1 and a matching end line put back.
					tamper(t, k, func(ls []line, i int) []line {
						end := fmt.Sprintf(`{"type":"end","events":%d}`+"\n", k-1)
						return append(ls[:i:i], line{raw: end})
					})
				})
			})
		}
		for k := int64(0); k <= fixtureSize; k++ {
			// A forged event k+1 inserted after event k.
			t.Run(fmt.Sprintf("InsertAfter%d", k), func(t *testing.T) {
				forged := func(t *testing.T, ls []line) line {
					prev := ""
					if k > 0 {
						prev = audit.PrevOf(ls[eventIndex(t, ls, k)].Leaf)
					}
					e := audit.Entry{V: 1, Tenant: testTenant, Seq: k + 1, ID: "evt_forged", Time: "2026-03-02T09:00:00.000000000Z",
						Prev: prev, ActorID: "usr_bob", Action: "document.delete", ObjectType: "document", ObjectID: "doc_1", Outcome: "ok"}
					leaf, err := audit.Encode(&e)
					if err != nil {
						t.Fatal(err)
					}
					l := line{Type: "event", Seq: k + 1, Leaf: leaf}
					l.remarshal(t)
					return l
				}
				at := func(ls []line) int {
					if k == 0 {
						return 2
					}
					i := eventIndex(t, ls, k) + 1
					for ls[i].Type == "checkpoint" {
						i++
					}
					return i
				}
				t.Run("Linked", func(t *testing.T) {
					// The forger links the event to its predecessor, which
					// anyone can: the chain holds no secret.
					ls := splitBundle(t, good)
					i := at(ls)
					ls = append(ls[:i], append([]line{forged(t, ls)}, ls[i:]...)...)
					wantFail(t, joinBundle(ls), audit.VerifyOptions{}, k+1)
				})
				t.Run("LinkedRenumbered", func(t *testing.T) {
					// ...and renumbers the lines after it.
					ls := splitBundle(t, good)
					i := at(ls)
					f := forged(t, ls)
					for j := i; j < len(ls); j++ {
						if ls[j].Type == "event" {
							ls[j].Seq++
							ls[j].remarshal(t)
						}
					}
					ls = append(ls[:i], append([]line{f}, ls[i:]...)...)
					wantFail(t, joinBundle(ls), audit.VerifyOptions{}, k+1)
				})
				t.Run("Unlinked", func(t *testing.T) {
					ls := splitBundle(t, good)
					i := at(ls)
					f := forged(t, ls)
					f.Leaf = editLeaf(t, f.Leaf, `"action":"`, `"action":"x`)
					if k > 0 {
						f.Leaf = editLeaf(t, f.Leaf, `"prev":"`, `"prev":"AAAA`)
					}
					f.remarshal(t)
					ls = append(ls[:i], append([]line{f}, ls[i:]...)...)
					wantFail(t, joinBundle(ls), audit.VerifyOptions{}, k+1)
				})
			})
		}
	})
}

// Tampering with the stored rows before the export: the bundle carries the
// altered leaves verbatim, and the verifier names the altered row.
func TestVerify_TamperSource(t *testing.T) {
	for k := int64(1); k <= fixtureSize; k++ {
		t.Run(fmt.Sprintf("Event%d", k), func(t *testing.T) {
			forEachFixture(t, func(t *testing.T, s *memSource) {
				// Checkpoints stored before the tampering, and the export's.
				checkpointOf(t, s)
				orig := s.leaf(k)
				restore := func() { s.setLeaf(k, orig) }

				t.Run("Edit", func(t *testing.T) {
					defer restore()
					s.setLeaf(k, editLeaf(t, orig, `"action":"`, `"action":"x`))
					wantFail(t, exportBundle(t, s, s.opener(), audit.Filter{}), audit.VerifyOptions{}, k)
					wantFail(t, exportBundle(t, recordsOnly{s}, s.opener(), audit.Filter{}), audit.VerifyOptions{}, k)
				})
				t.Run("EditUndecodable", func(t *testing.T) {
					defer restore()
					s.setLeaf(k, append([]byte("#"), orig...))
					ve := wantFail(t, exportBundle(t, s, s.opener(), audit.Filter{}), audit.VerifyOptions{}, k)
					if !strings.Contains(ve.Reason, "does not decode") {
						t.Errorf("reason %q", ve.Reason)
					}
					// Without RawRecords the export cannot read the row.
					err := audit.WriteBundle(context.Background(), new(bytes.Buffer), recordsOnly{s}, s.opener(), testTenant, audit.Filter{}, exportTime)
					if err == nil {
						t.Error("export through Records of an undecodable row succeeded")
					}
				})
				t.Run("Delete", func(t *testing.T) {
					defer restore()
					s.setLeaf(k, nil)
					wantFail(t, exportBundle(t, s, s.opener(), audit.Filter{}), audit.VerifyOptions{}, k)
				})
				if k < fixtureSize {
					t.Run("SwapWithNext", func(t *testing.T) {
						next := s.leaf(k + 1)
						defer func() { s.setLeaf(k, orig); s.setLeaf(k+1, next) }()
						s.setLeaf(k, next)
						s.setLeaf(k+1, orig)
						wantFail(t, exportBundle(t, s, s.opener(), audit.Filter{}), audit.VerifyOptions{}, k)
					})
				}
			})
		})
	}
}

func TestVerify_TamperFiltered(t *testing.T) {
	s := newFixture(t, 3, 7)
	good := exportBundle(t, s, s.opener(), audit.Filter{MatterID: "mat_1"}) // events 2..6
	mustVerify(t, good, audit.VerifyOptions{})
	for k := int64(2); k <= 6; k++ {
		t.Run(fmt.Sprintf("Event%d", k), func(t *testing.T) {
			tamper := func(t *testing.T, fn func(l *line)) {
				t.Helper()
				ls := splitBundle(t, good)
				i := eventIndex(t, ls, k)
				fn(&ls[i])
				ls[i].remarshal(t)
				wantFail(t, joinBundle(ls), audit.VerifyOptions{}, k)
			}
			t.Run("ProofChanged", func(t *testing.T) {
				tamper(t, func(l *line) {
					c := "A"
					if l.Proof[0][0] == 'A' {
						c = "B"
					}
					l.Proof[0] = c + l.Proof[0][1:]
				})
			})
			t.Run("ProofMissing", func(t *testing.T) { tamper(t, func(l *line) { l.Proof = nil }) })
			t.Run("ProofShortened", func(t *testing.T) { tamper(t, func(l *line) { l.Proof = l.Proof[1:] }) })
			t.Run("EditLeaf", func(t *testing.T) {
				tamper(t, func(l *line) { l.Leaf = editLeaf(t, l.Leaf, `"action":"`, `"action":"x`) })
			})
			t.Run("PrivateChanged", func(t *testing.T) {
				tamper(t, func(l *line) {
					p := strings.Replace(*l.Private, `"name":"`, `"name":"Not `, 1)
					l.Private = &p
				})
			})
			t.Run("Repeated", func(t *testing.T) {
				ls := splitBundle(t, good)
				i := eventIndex(t, ls, k)
				ls = append(ls[:i+1], ls[i:]...)
				wantFail(t, joinBundle(ls), audit.VerifyOptions{}, k)
			})
		})
	}
	t.Run("OtherCheckpointLine", func(t *testing.T) {
		ls := splitBundle(t, good)
		ls = append(ls[:3], append([]line{ls[1]}, ls[3:]...)...)
		wantFail(t, joinBundle(ls), audit.VerifyOptions{}, 0)
	})
}

func TestVerify_Signatures(t *testing.T) {
	s := newFixture(t, 3, 7)
	good := exportBundle(t, s, s.opener(), audit.Filter{})

	t.Run("WrongSignature", func(t *testing.T) {
		for _, which := range []string{"Header", "Stored"} {
			t.Run(which, func(t *testing.T) {
				ls := splitBundle(t, good)
				i := 1
				if which == "Stored" {
					i = eventIndex(t, ls, 3) + 1
				}
				sig := strings.LastIndex(ls[i].Note, " ") + 10
				b := []byte(ls[i].Note)
				b[sig] = 'A'
				if ls[i].Note[sig] == 'A' {
					b[sig] = 'B'
				}
				ls[i].raw = mustJSON(t, map[string]string{"type": "checkpoint", "note": string(b)}) + "\n"
				ve := wantFail(t, joinBundle(ls), audit.VerifyOptions{}, 0)
				if !strings.Contains(ve.Reason, "does not verify") {
					t.Errorf("reason %q", ve.Reason)
				}
			})
		}
	})

	t.Run("CheckpointTextChanged", func(t *testing.T) {
		ls := splitBundle(t, good)
		ls[1].raw = strings.Replace(ls[1].raw, `\n10\n`, `\n9\n`, 1)
		wantFail(t, joinBundle(ls), audit.VerifyOptions{}, 0)
	})

	t.Run("TrustedKey", func(t *testing.T) {
		mustVerify(t, good, audit.VerifyOptions{TrustedKey: s.vkey})
		_, other := testKey(t, "casevault-audit-test", "another key")
		ve := wantFail(t, good, audit.VerifyOptions{TrustedKey: other}, 0)
		if !strings.Contains(ve.Reason, "not the trusted key") {
			t.Errorf("reason %q", ve.Reason)
		}
		if _, err := audit.Verify(bytes.NewReader(good), audit.VerifyOptions{TrustedKey: "not a key"}); err == nil {
			t.Error("a malformed trusted key was accepted")
		}
	})

	t.Run("RewrittenAndResigned", func(t *testing.T) {
		// Someone who rewrites history and signs it with a key of their
		// own produces a consistent bundle: only the pinned key catches it.
		forged := newMemSource(t, testTenant, "forger")
		for i, ev := range fixtureEvents {
			if i == 3 {
				ev.e.Outcome = audit.OutcomeOK
			}
			forged.add(t, ev.e, ev.p)
		}
		b := exportBundle(t, forged, forged.opener(), audit.Filter{})
		mustVerify(t, b, audit.VerifyOptions{})
		wantFail(t, b, audit.VerifyOptions{TrustedKey: s.vkey}, 0)
	})

	t.Run("CheckpointOfAnotherFirm", func(t *testing.T) {
		// Same region key, another firm's log.
		other := newMemSource(t, "ten_other", "fixture")
		for _, ev := range fixtureEvents {
			other.add(t, ev.e, ev.p)
		}
		ck, err := other.Checkpoint(context.Background(), "ten_other")
		if err != nil {
			t.Fatal(err)
		}
		ls := splitBundle(t, good)
		ls[1].raw = mustJSON(t, map[string]string{"type": "checkpoint", "note": string(ck.Note)}) + "\n"
		ve := wantFail(t, joinBundle(ls), audit.VerifyOptions{}, 0)
		if !strings.Contains(ve.Reason, "casevault/audit/ten_other") {
			t.Errorf("reason %q", ve.Reason)
		}
	})
}

func TestVerify_Structure(t *testing.T) {
	s := newFixture(t, 3, 7)
	good := exportBundle(t, s, s.opener(), audit.Filter{})
	for _, tc := range []struct {
		name   string
		edit   func(t *testing.T, ls []line) []line
		seq    int64
		reason string
	}{
		{"NoEndLine", func(t *testing.T, ls []line) []line { return ls[:len(ls)-1] }, 0, "no end line"},
		{"EndCountWrong", func(t *testing.T, ls []line) []line {
			ls[len(ls)-1].raw = `{"type":"end","events":11}` + "\n"
			return ls
		}, 0, "counts 11 events"},
		{"LineAfterEnd", func(t *testing.T, ls []line) []line { return append(ls, ls[len(ls)-1]) }, 0, "follows the end line"},
		{"Empty", func(t *testing.T, ls []line) []line { return nil }, 0, "empty"},
		{"HeaderOnly", func(t *testing.T, ls []line) []line { return ls[:1] }, 0, "no checkpoint"},
		{"WrongFormat", func(t *testing.T, ls []line) []line {
			ls[0].raw = strings.Replace(ls[0].raw, "bundle/1", "bundle/2", 1)
			return ls
		}, 0, "format"},
		{"OriginOfAnotherFirm", func(t *testing.T, ls []line) []line {
			ls[0].raw = strings.Replace(ls[0].raw, `"origin":"casevault/audit/`, `"origin":"casevault/audit/x`, 1)
			return ls
		}, 0, "origin"},
		{"CompleteWithFilter", func(t *testing.T, ls []line) []line {
			ls[0].raw = strings.Replace(ls[0].raw, `"filter":{}`, `"filter":{"action":"login"}`, 1)
			return ls
		}, 0, "complete"},
		{"UnknownField", func(t *testing.T, ls []line) []line {
			ls[3].raw = strings.Replace(ls[3].raw, `{"type":"event",`, `{"type":"event","extra":1,`, 1)
			return ls
		}, 0, "line 4"},
		{"TrailingBrace", func(t *testing.T, ls []line) []line {
			ls[3].raw = strings.TrimSuffix(ls[3].raw, "\n") + "}\n"
			return ls
		}, 0, "line 4"},
		{"CheckpointMoved", func(t *testing.T, ls []line) []line {
			i := eventIndex(t, ls, 3) + 1 // the checkpoint of size 3
			ls[i], ls[i+1] = ls[i+1], ls[i]
			return ls
		}, 0, "out of place"},
		{"EventBeyondCheckpoint", func(t *testing.T, ls []line) []line {
			// A checkpoint that covers fewer events than follow it.
			ls[1] = ls[eventIndex(t, ls, 7)+1]
			return ls
		}, 8, "beyond"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ve := wantFail(t, joinBundle(tc.edit(t, splitBundle(t, good))), audit.VerifyOptions{}, tc.seq)
			if !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", ve.Reason, tc.reason)
			}
		})
	}
}

// TestBundle_WorkedExample checks that the worked example in
// docs/AUDIT-FORMAT.md is what the code writes today, and verifies.
func TestBundle_WorkedExample(t *testing.T) {
	s := newMemSource(t, "ten_example", "worked example")
	ctx := context.Background()
	// Event 1 was written before the upgrade to leaf version 2.
	s.add(t, audit.Entry{V: audit.FormatV1, ActorID: "usr_ann", ActorEmail: "ann@example.com", Source: "192.0.2.10", UserAgent: "Mozilla/5.0",
		Action: "login", ObjectType: "user", ObjectID: "usr_ann", Outcome: audit.OutcomeOK}, nil)
	s.add(t, audit.Entry{ActorID: "usr_ann", ActorEmail: "ann@example.com", Source: "192.0.2.10", UserAgent: "Mozilla/5.0",
		Action: "document.upload", ObjectType: "document", ObjectID: "doc_7", Outcome: audit.OutcomeOK,
		Details: map[string]string{"matter_id": "mat_3", "size": "1200"}}, audit.Private{"name": "Lease.pdf"})
	s.stampAt = time.Date(2026, 3, 2, 9, 3, 10, 0, time.UTC)
	if _, err := s.Checkpoint(ctx, "ten_example"); err != nil {
		t.Fatal(err)
	}
	s.add(t, audit.Entry{ActorID: "usr_ben", ActorEmail: "ben@example.com", Source: "192.0.2.11", UserAgent: "curl/8.5",
		Action: "document.download", ObjectType: "document", ObjectID: "doc_7", Outcome: audit.OutcomeDenied,
		Details: map[string]string{"matter_id": "mat_3"}}, audit.Private{"name": "Lease.pdf"})
	// The export records its own event first; its bundle ends with it.
	x := vault.AuditExport{ID: "exp_" + strings.Repeat("a", 26), Seq: 4, Time: exportTime}
	s.add(t, audit.Entry{ActorID: "usr_cy", ActorEmail: "cy@example.com", Source: "192.0.2.12", UserAgent: "curl/8.5",
		Action: audit.ActionExport, ObjectType: "audit", ObjectID: "ten_example", Outcome: audit.OutcomeOK,
		Time: exportTime.Format(audit.TimeLayout), Details: map[string]string{"export_id": x.ID, "format": "jsonl"}}, nil)
	s.stampAt = exportTime
	var buf bytes.Buffer
	if err := audit.WriteExportBundle(ctx, &buf, s, s.opener(), "ten_example", audit.Filter{}, x); err != nil {
		t.Fatal(err)
	}
	bundle := buf.String()
	res, err := audit.Verify(strings.NewReader(bundle), audit.VerifyOptions{TrustedKey: s.vkey})
	if err != nil {
		t.Fatal(err)
	}
	tv, err := audit.TimestampVerifier(s.vkey)
	if err != nil {
		t.Fatal(err)
	}

	var ex strings.Builder
	ex.WriteString("bundle (ten_example.jsonl):\n\n```\n" + bundle + "```\n\n")
	fmt.Fprintf(&ex, "verifier key: `%s`\n\n", s.vkey)
	fmt.Fprintf(&ex, "timestamp key (§5, derived from it: same name and public key, key hash over 0x04): `%s`, key hash `%08x`\n\n", tv, tv.KeyHash())
	ls := splitBundle(t, buf.Bytes())
	for seq := int64(1); seq <= 4; seq++ {
		leaf := s.leaf(seq)
		lh := audit.LeafHash(leaf)
		e, err := audit.Decode(leaf)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&ex, "leaf %d, version %d (the bytes of its `leaf`, as text):\n\n```\n%s\n```\n\n", seq, e.V, leaf)
		if l := ls[eventIndex(t, ls, seq)]; l.Private != nil {
			fmt.Fprintf(&ex, "- its private part (the bundle's `private`), %d bytes: `%s`\n", len(*l.Private), *l.Private)
			fmt.Fprintf(&ex, "- commit = base64(SHA-256(nonce ‖ private)), with the 32 bytes of nonce `%s` = `%s`, the leaf's `commit`\n",
				base64.StdEncoding.EncodeToString(l.Nonce), audit.CommitTo(l.Nonce, []byte(*l.Private)))
		}
		fmt.Fprintf(&ex, "- leaf hash h%d = SHA-256(0x00 ‖ leaf %d) = `%s`\n", seq, seq, lh)
		if seq < 4 {
			fmt.Fprintf(&ex, "- so event %d has prev = `%s`\n", seq+1, audit.PrevOf(leaf))
		} else {
			fmt.Fprintf(&ex, "- it is the export's own `audit.export` event: its `export_id` is the header's, its `time` the header's `exported_at`, and it states no filter, as the header's `filter` `{}`\n")
		}
		ex.WriteString("\n")
	}
	cp2 := checkpointTwo(t, s)
	fmt.Fprintf(&ex, "- tree of 2 leaves: root = SHA-256(0x01 ‖ h1 ‖ h2) = `%s` — the root in the checkpoint of size 2\n", cp2)
	fmt.Fprintf(&ex, "- tree of 4 leaves: root = SHA-256(0x01 ‖ root of 2 ‖ SHA-256(0x01 ‖ h3 ‖ h4)) = `%s` — the root in the header's checkpoint of size 4\n", res.Root)
	fmt.Fprintf(&ex, "- each checkpoint's second signature line is its timestamp (§5): the checkpoint of size 2 was signed at %d (%s), the header's at %d (%s), the export's time\n",
		time.Date(2026, 3, 2, 9, 3, 10, 0, time.UTC).Unix(), "2026-03-02T09:03:10Z", exportTime.Unix(), exportTime.Format(time.RFC3339))
	fmt.Fprintf(&ex, "\n`casevault audit verify --key '%s' ten_example.jsonl` prints:\n\n```\nOK: %d events, %d checkpoints, tree size %d, root %s\n",
		s.vkey, res.Events, res.Checkpoints, res.TreeSize, res.Root)
	fmt.Fprintf(&ex, "Firm ten_example: every event of the tree, in order.\nExport %s by %s <%s> at %s (event %d, which ends the bundle).\n",
		res.Export.ID, res.Export.ActorID, res.Export.ActorEmail, res.Export.Time, res.Export.Seq)
	fmt.Fprintf(&ex, "Newest checkpoint timestamp: %s (the log's own, signed with --key; %d of %d checkpoints timestamped).\n```\n",
		res.Newest.UTC().Format(time.RFC3339), res.Timestamps, res.Checkpoints)

	// A second export, filtered, by usr_ann: its own event (5) closes it.
	y := vault.AuditExport{ID: "exp_" + strings.Repeat("b", 26), Seq: 5, Time: exportTime.Add(time.Minute)}
	s.add(t, audit.Entry{ActorID: "usr_ann", ActorEmail: "ann@example.com", Source: "192.0.2.10", UserAgent: "Mozilla/5.0",
		Action: audit.ActionExport, ObjectType: "audit", ObjectID: "ten_example", Outcome: audit.OutcomeOK,
		Time: y.Time.Format(audit.TimeLayout), Details: map[string]string{"export_id": y.ID, "format": "jsonl", "filter_actor_id": "usr_ann"}}, nil)
	s.stampAt = y.Time
	buf.Reset()
	if err := audit.WriteExportBundle(ctx, &buf, s, s.opener(), "ten_example", audit.Filter{ActorID: "usr_ann"}, y); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(bytes.NewReader(buf.Bytes()), audit.VerifyOptions{TrustedKey: s.vkey}); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&ex, "\nThen `usr_ann` exports the log filtered with `actor_id=usr_ann`: event 5 is that export's own event "+
		"(with `filter_actor_id` `usr_ann`, matching the header's `filter`). The bundle holds events 1 and 2 and 5, each with its "+
		"proof in the tree of size 5, from the leaf upwards — for event 1 (index 0) [h2, node(h3, h4), h5], for event 2 (index 1) "+
		"[h1, node(h3, h4), h5], for event 5 (index 4) [root of 4]; and the stored checkpoints of sizes 2, 4 and 5, each with its "+
		"consistency proof to the tree of size 5 — for size 2 [node(h3, h4), h5], for size 4 [h5] (2 and 4 are powers of two, so "+
		"their roots are the first nodes), for size 5 []:\n\n```\n%s```\n", buf.String())

	// A version 2 leaf of the service log: keyed hashes, no private part.
	svc := newMemSource(t, "", "worked example")
	svc.add(t, audit.Entry{ObjectType: "user", Action: "login_failed", Outcome: audit.OutcomeDenied, Details: map[string]string{
		"reason": "bad_credentials", audit.DetailEmailHash: testIndexHash(vault.IndexEmail, "nobody@example.com"),
		audit.DetailSourceHash: testIndexHash(vault.IndexSource, "192.0.2.99"),
	}}, nil)
	fmt.Fprintf(&ex, "\nA version 2 leaf of the service log (`tenant` `\"\"`): a sign-in with the unknown email "+
		"`nobody@example.com` from `192.0.2.99`, which it holds only as keyed hashes (§3), here under a test key:\n\n```\n%s\n```\n", svc.leaf(1))

	path := filepath.Join("..", "docs", "AUDIT-FORMAT.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- worked-example:begin -->\n", "<!-- worked-example:end -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no worked example markers", path)
	}
	if got := string(doc[i+len(begin) : j]); got != ex.String() {
		out := filepath.Join(t.TempDir(), "worked-example.md")
		os.WriteFile(out, []byte(ex.String()), 0o600)
		if os.Getenv("CASEVAULT_UPDATE_DOCS") != "" {
			updated := append(append(append([]byte{}, doc[:i+len(begin)]...), ex.String()...), doc[j:]...)
			if err := os.WriteFile(path, updated, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("updated %s", path)
			return
		}
		t.Errorf("the worked example in %s is out of date; the code writes (see %s; CASEVAULT_UPDATE_DOCS=1 rewrites it):\n%s", path, out, ex.String())
	}
}

// testIndexHash is the hash testIndexer gives an identity, as the service
// log stores it.
func testIndexHash(purpose, value string) string {
	h, err := audit.IdentityHash(context.Background(), testIndexer{}, purpose, value)
	if err != nil {
		panic(err)
	}
	return h
}

// checkpointTwo returns the root of the stored checkpoint of size 2.
func checkpointTwo(t *testing.T, s *memSource) string {
	t.Helper()
	var root string
	err := s.Checkpoints(context.Background(), s.tenant, 2, func(c *audit.Checkpoint) error {
		if c.Size == 2 {
			root = c.Root.String()
		}
		return nil
	})
	if err != nil || root == "" {
		t.Fatalf("no checkpoint of size 2: %v", err)
	}
	return root
}

// FuzzVerify_Leaf checks that Verify accepts a leaf exactly when Decode
// does (and it is event 1 of the firm, linked to nothing): Verify reads
// canonical leaves with a fast scanner of its own, and must agree with
// Decode on everything else.
func FuzzVerify_Leaf(f *testing.F) {
	for _, s := range []string{"", "plain", "é", "Müller", "\u2028", "\u2029", "\x7f", "\x00", "\x1f", "\xff", "\xed\xa0\x80",
		`"`, `\`, "<>&", "\t", "契約", "a\"b", "\U0001F600"} {
		f.Add(s, "Mozilla/5.0", "matter_id", "mat_1", uint16(0), byte(0), false)
	}
	for i, b := range []byte("V {}[],:\"\\0123456789-+.eE \x00\x80tu") {
		f.Add("a@b.example", "ua", "k", "v", uint16(i*7), b, i%2 == 0)
	}
	f.Add("a@b.example", "ua", "k", "v", uint16(2), byte('V'), false)        // "V": matches case-insensitively
	f.Add("a@b.example", "ua", "k", "v", uint16(5), byte('2'), false)        // version 2
	f.Add("a@b.example", "ua", "k", "v", uint16(5), byte(' '), true)         // space
	f.Add("a@b.example", "ua", "", "", uint16(26), byte('0'), true)          // "seq":01
	f.Add("a@b.example", "ua", "k", "\\u0041", uint16(9999), byte(0), false) // an escape where none is needed
	f.Fuzz(func(t *testing.T, email, ua, dk, dv string, pos uint16, b byte, insert bool) {
		e := audit.Entry{V: 1, Tenant: testTenant, Seq: 1, ID: "evt_1", Time: "2026-03-02T09:00:00.000000000Z",
			ActorEmail: email, UserAgent: ua, Action: "login", Outcome: "ok", Details: map[string]string{dk: dv, "zz": "1"}}
		if len(dk)%2 == 1 {
			// A version 2 leaf: the same text, none of it in the three
			// members version 2 does not have.
			e.V, e.ActorEmail, e.UserAgent, e.ObjectID, e.Action = 2, "", "", email, ua
		}
		leaf, err := audit.Encode(&e)
		if err != nil {
			t.Skip()
		}
		if dv == "\\u0041" {
			leaf = bytes.Replace(leaf, []byte(`\\u0041`), []byte(`\u0041`), 1)
		}
		if p := int(pos); p < len(leaf) {
			if insert {
				leaf = append(leaf[:p:p], append([]byte{b}, leaf[p:]...)...)
			} else {
				leaf[p] = b
			}
		}
		d, err := audit.Decode(leaf)
		want := err == nil && d.Seq == 1 && d.Tenant == testTenant && d.Prev == "" && meaningful(d)

		s := newMemSource(t, testTenant, "fuzz")
		s.addRaw(t, leaf)
		var buf bytes.Buffer
		if err := audit.WriteBundle(context.Background(), &buf, s, nil, testTenant, audit.Filter{}, exportTime); err != nil {
			t.Fatal(err)
		}
		bundle := buf.Bytes()
		_, verr := audit.Verify(bytes.NewReader(bundle), audit.VerifyOptions{})
		if got := verr == nil; got != want {
			t.Fatalf("leaf %q: Verify ok = %t (%v), Decode says %t (%v)", leaf, got, verr, want, err)
		}
		if _, rerr := refverify.Verify(bytes.NewReader(bundle), ""); (rerr == nil) != want {
			t.Fatalf("leaf %q: refverify ok = %t (%v), Decode says %t (%v)", leaf, rerr == nil, rerr, want, err)
		}
	})
}

// meaningful is the spec's checks of a leaf's contents (§7 step 4) for a
// first event, written out here apart from the verifiers.
func meaningful(e *audit.Entry) bool {
	t, err := time.Parse(audit.TimeLayout, e.Time)
	if err != nil || t.Format(audit.TimeLayout) != e.Time {
		return false
	}
	if e.Outcome != "ok" && e.Outcome != "denied" && e.Outcome != "error" {
		return false
	}
	if e.Commit == "" || e.Sealed == "" {
		return e.Commit == e.Sealed
	}
	c, err := base64.StdEncoding.Strict().DecodeString(e.Commit)
	_, serr := base64.StdEncoding.Strict().DecodeString(e.Sealed)
	return err == nil && len(c) == 32 && serr == nil && !strings.ContainsAny(e.Commit+e.Sealed, "\r\n")
}

// FuzzVerify_EventLine checks that Verify's fast reading of event lines
// agrees with encoding/json: a mutated event line must verify exactly when
// the same line, re-encoded with its keys in another order (so that only
// the general path reads it), does.
func FuzzVerify_EventLine(f *testing.F) {
	s := newMemSource(f, testTenant, "fuzz lines")
	for _, ev := range fixtureEvents[:4] {
		s.add(f, ev.e, ev.p)
	}
	for _, filtered := range []bool{false, true} {
		for i, b := range []byte("x\"\\{}[],:0123456789 -\x00\x7f\x80=/+Au") {
			f.Add(filtered, uint8(i%4), uint16(i*13), b, i%3 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, filtered bool, which uint8, pos uint16, b byte, insert bool) {
		var filter audit.Filter
		if filtered {
			filter = audit.Filter{ObjectType: "document"}
		}
		ls := splitBundle(t, exportBundle(t, s, s.opener(), filter))
		var events []int
		for i, l := range ls {
			if l.Type == "event" {
				events = append(events, i)
			}
		}
		i := events[int(which)%len(events)]
		raw := []byte(strings.TrimSuffix(ls[i].raw, "\n"))
		if p := int(pos); p < len(raw) {
			if insert {
				raw = append(raw[:p:p], append([]byte{b}, raw[p:]...)...)
			} else {
				raw[p] = b
			}
		}
		if bytes.IndexByte(raw, '\n') >= 0 {
			t.Skip()
		}
		verify := func(line []byte) error {
			ls[i].raw = string(line) + "\n"
			_, err := audit.Verify(bytes.NewReader(joinBundle(ls)), audit.VerifyOptions{})
			return err
		}
		got := verify(raw)
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err := dec.Decode(&m)
		if err == nil {
			if _, tail := dec.Token(); tail != io.EOF {
				err = errors.New("more than one value")
			}
		}
		if err != nil {
			if got == nil {
				t.Fatalf("line %q is not JSON, yet the bundle verifies", raw)
			}
			return
		}
		again, err := json.Marshal(m) // keys sorted: "leaf" first, never the fast path's shape
		if err != nil {
			t.Fatal(err)
		}
		if want := verify(again); (got == nil) != (want == nil) {
			t.Fatalf("line %q: Verify says %v; the same line as %q: %v", raw, got, again, want)
		}
	})
}
