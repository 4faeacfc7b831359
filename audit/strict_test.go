package audit_test

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
)

// TestVerify_StrictReading runs every corner case of docs/AUDIT-FORMAT.md
// §1 "Reading a line", §2 "What a leaf says", §5 and §7 through both
// verifiers: each mutated bundle fails in both, naming the same seq, and
// each harmless variant verifies in both.
func TestVerify_StrictReading(t *testing.T) {
	s := newFixture(t, 3, 7)
	complete := exportBundle(t, s, s.opener(), audit.Filter{})
	filtered := exportBundle(t, s, s.opener(), audit.Filter{MatterID: "mat_1"}) // events 2..6
	opts := audit.VerifyOptions{TrustedKey: s.vkey}
	mustVerify(t, complete, opts)
	mustVerify(t, filtered, opts)

	// edit returns b with line i (0-based) passed through f.
	edit := func(b []byte, i int, f func(string) string) []byte {
		lines := strings.SplitAfter(string(b), "\n")
		lines[i] = f(lines[i])
		return []byte(strings.Join(lines, ""))
	}
	replace := func(old, new string) func(string) string {
		return func(l string) string {
			if !strings.Contains(l, old) {
				t.Fatalf("line %q lacks %q", l, old)
			}
			return strings.Replace(l, old, new, 1)
		}
	}
	lineOf := func(b []byte, seq int64) int {
		return eventIndex(t, splitBundle(t, b), seq)
	}
	// padBits changes the unused padding bits of the base64 value that
	// follows key on a line: it decodes to the same bytes with a lenient
	// decoder.
	padBits := func(key string) func(string) string {
		re := regexp.MustCompile(`"` + key + `":"([A-Za-z0-9+/]*)([A-Za-z0-9+/])(=+)"`)
		return func(l string) string {
			m := re.FindStringSubmatchIndex(l)
			if m == nil {
				t.Fatalf("line %q has no padded %s", l, key)
			}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			c := strings.IndexByte(alphabet, l[m[4]])
			return l[:m[4]] + string(alphabet[c|1]) + l[m[5]:]
		}
	}
	ev4 := lineOf(complete, 4)
	padded := int64(0) // an event whose leaf's base64 ends in padding
	for _, l := range splitBundle(t, complete) {
		if l.Type == "event" && len(l.Leaf)%3 != 0 {
			padded = l.Seq
			break
		}
	}
	if padded == 0 {
		t.Fatal("no leaf of the fixture has base64 padding")
	}
	fev4 := lineOf(filtered, 4)

	for _, tc := range []struct {
		name string
		b    []byte
		seq  int64
	}{
		// §1 rule 1: LF everywhere.
		{"NoFinalLF", bytes.TrimSuffix(complete, []byte("\n")), 0},
		{"EventWithoutLFLast", complete[:bytes.Index(complete, []byte(`{"type":"event","seq":5,`))+40], 5},
		// Rule 3: exact, unique names.
		{"NameCase", edit(complete, ev4, replace(`"seq":4`, `"Seq":4`)), 0},
		{"NameCaseHeader", edit(complete, 0, replace(`"tenant"`, `"Tenant"`)), 0},
		{"NameRepeated", edit(complete, ev4, replace(`"seq":4`, `"seq":4,"seq":4`)), 0},
		{"NameRepeatedEscaped", edit(complete, ev4, replace(`"seq":4`, `"seq":4,"se\u0071":4`)), 0},
		{"FilterNameRepeated", edit(filtered, 0, replace(`"matter_id":"mat_1"`, `"matter_id":"mat_1","matter_id":"mat_2"`)), 0},
		{"FilterNameCase", edit(filtered, 0, replace(`"matter_id"`, `"Matter_ID"`)), 0},
		// Rule 4: null is not absent.
		{"NullPrivate", edit(complete, lineOf(complete, 1), replace(`}`+"\n", `,"private":null}`+"\n")), 0},
		{"NullProof", edit(filtered, fev4, regexpReplace(`"proof":\[[^\]]*\]`, `"proof":null`)), 0},
		{"NullConsistency", edit(filtered, len(splitBundle(t, filtered))-2, regexpReplace(`"consistency":\[[^\]]*\]`, `"consistency":null`)), 0},
		{"NullHeaderFilter", edit(complete, 0, replace(`"filter":{}`, `"filter":null`)), 0},
		// Rule 5: the members of its type, and only those.
		{"EventWithEndMember", edit(complete, ev4, replace(`"seq":4`, `"seq":4,"events":1`)), 0},
		{"EndWithSeq", edit(complete, len(splitBundle(t, complete))-1, replace(`"events"`, `"seq":1,"events"`)), 0},
		{"HeaderWithNote", edit(complete, 0, replace(`"complete":true`, `"complete":true,"note":""`)), 0},
		{"HeaderLacksComplete", edit(complete, 0, replace(`,"complete":true`, ``)), 0},
		{"EventSeqAsString", edit(complete, ev4, replace(`"seq":4`, `"seq":"4"`)), 0},
		{"UnknownType", edit(complete, ev4, replace(`"type":"event"`, `"type":"Event"`)), 0},
		// Rule 6: which optional members go where.
		{"ProofInComplete", edit(complete, ev4, replace(`}`+"\n", `,"proof":[]}`+"\n")), 0},
		{"ConsistencyInComplete", edit(complete, 1, replace(`}`+"\n", `,"consistency":[]}`+"\n")), 0},
		{"ConsistencyOnLine2", edit(filtered, 1, replace(`}`+"\n", `,"consistency":[]}`+"\n")), 0},
		{"FilteredLacksProof", edit(filtered, fev4, regexpReplace(`,"proof":\[[^\]]*\]`, ``)), 4},
		{"FilteredCheckpointLacksConsistency", edit(filtered, len(splitBundle(t, filtered))-2, regexpReplace(`,"consistency":\[[^\]]*\]`, ``)), 0},
		// Rule 7: canonical base64.
		{"LeafLineBreak", edit(complete, ev4, func(l string) string {
			i := strings.Index(l, `"leaf":"`) + 20
			return l[:i] + `\n` + l[i:]
		}), 4},
		{"LeafPaddingBits", edit(complete, lineOf(complete, padded), padBits("leaf")), padded},
		{"NoncePaddingBits", edit(complete, lineOf(complete, 2), padBits("nonce")), 2},
		{"ProofHashPaddingBits", edit(filtered, fev4, regexpFunc(`"proof":\["[A-Za-z0-9+/]{42}([A-Za-z0-9+/])=`, flipLow)), 4},
		{"ConsistencyHashPaddingBits", edit(filtered, len(splitBundle(t, filtered))-3, regexpFunc(`"consistency":\["[A-Za-z0-9+/]{42}([A-Za-z0-9+/])=`, flipLow)), 0},
		{"SignaturePaddingBits", edit(complete, 1, regexpFunc(` [A-Za-z0-9+/]{90}([A-Za-z0-9+/])=\\n`, flipLow)), 0},
		// Rule 8: the filter and exported_at.
		{"ExportedAtLayout", edit(complete, 0, regexpReplace(`"exported_at":"[^"]*"`, `"exported_at":"2026-03-02T17:30:00Z"`)), 0},
		{"FilterEmptyString", edit(filtered, 0, replace(`"matter_id":"mat_1"`, `"matter_id":"mat_1","action":""`)), 0},
		{"FilterAfterSeqZero", edit(filtered, 0, replace(`"matter_id":"mat_1"`, `"matter_id":"mat_1","after_seq":0`)), 0},
		{"FilterLimitString", edit(filtered, 0, replace(`"matter_id":"mat_1"`, `"matter_id":"mat_1","limit":"3"`)), 0},
		{"FilterFromLayout", edit(filtered, 0, replace(`"matter_id":"mat_1"`, `"matter_id":"mat_1","from":"2026-03-02"`)), 0},
		// §5: key hashes lowercase; every line of the trusted key verifies.
		{"SecondBadSignatureLine", edit(complete, 1, func(l string) string {
			i := strings.Index(l, `\n— `)
			sig := l[i+2 : len(l)-len(`\n"}`+"\n")]
			bad := []byte(sig)
			bad[len(bad)-5] ^= 1
			return l[:len(l)-len(`"}`+"\n")] + string(bad) + `\n"}` + "\n"
		}), 0},
		// The blame algorithm: a line error while a chain break is pending
		// names the event before the break.
		{"LineErrorAtTheBreak", edit(editBundleLeaf(t, complete, 4, `"action":"document.download"`, `"action":"document.view"`), lineOf(complete, 5), replace(`"seq":5`, `"seq":5,"Seq":5`)), 0},
		{"LineErrorWhileBreakPending", edit(editBundleLeaf(t, complete, 4, `"action":"document.download"`, `"action":"document.view"`), lineOf(complete, 6), replace(`"seq":6`, `"seq":6,"Seq":6`)), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFail(t, tc.b, opts, tc.seq)
		})
	}

	t.Run("UppercaseKeyHash", func(t *testing.T) {
		upper := regexp.MustCompile(`\+[0-9a-f]{8}\+`).ReplaceAllStringFunc(s.vkey, strings.ToUpper)
		b := []byte(strings.Replace(string(complete), s.vkey, upper, 1))
		if upper == s.vkey {
			t.Skip("the key hash has no letter")
		}
		wantFail(t, b, audit.VerifyOptions{}, 0)
		if _, err := audit.Verify(bytes.NewReader(complete), audit.VerifyOptions{TrustedKey: upper}); err == nil {
			t.Error("Verify accepts a trusted key with an uppercase hash")
		}
		if _, err := refverify.Verify(bytes.NewReader(complete), upper); err == nil {
			t.Error("refverify accepts a trusted key with an uppercase hash")
		}
	})

	// Variants that change nothing the spec reads verify in both.
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"MembersReordered", edit(complete, ev4, func(l string) string {
			i := strings.Index(l, `,"leaf":`)
			return `{"leaf":` + l[i+len(`,"leaf":`):len(l)-2] + `,"seq":4,"type":"event"}` + "\n"
		})},
		{"Whitespace", edit(complete, 0, replace(`"complete":true`, ` "complete" : true `))},
		{"CRLF", []byte(strings.ReplaceAll(string(complete), "}\n", "}\r\n"))},
		{"EscapedName", edit(complete, ev4, replace(`"seq":4`, `"se\u0071":4`))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustVerify(t, tc.b, opts)
		})
	}
}

// TestVerify_LeafMeaning checks §2 "What a leaf says" on leaves that are
// canonical and signed, in both verifiers.
func TestVerify_LeafMeaning(t *testing.T) {
	base := audit.Entry{ActorID: "usr_alice", Action: "login", ObjectType: "user", Outcome: audit.OutcomeOK}
	for _, tc := range []struct {
		name string
		edit func(e *audit.Entry)
	}{
		{"TimeLayout", func(e *audit.Entry) { e.Time = "2026-03-02T09:00:00Z" }},
		{"TimeTenDigits", func(e *audit.Entry) { e.Time = "2026-03-02T09:00:00.0000000000Z" }},
		{"TimeZone", func(e *audit.Entry) { e.Time = "2026-03-02T09:00:00.000000000+01:00" }},
		{"TimeBeforePrevious", func(e *audit.Entry) { e.Time = "2026-03-02T08:00:00.000000000Z" }},
		{"Outcome", func(e *audit.Entry) { e.Outcome = "maybe" }},
		{"SealedWithoutCommit", func(e *audit.Entry) { e.Sealed = base64.StdEncoding.EncodeToString([]byte("x")) }},
		{"CommitWithoutSealed", func(e *audit.Entry) { e.Commit = base64.StdEncoding.EncodeToString(make([]byte, 32)) }},
		{"CommitShort", func(e *audit.Entry) {
			e.Sealed, e.Commit = base64.StdEncoding.EncodeToString([]byte("x")), base64.StdEncoding.EncodeToString(make([]byte, 31))
		}},
		{"SealedNotBase64", func(e *audit.Entry) {
			e.Sealed, e.Commit = "x!", base64.StdEncoding.EncodeToString(make([]byte, 32))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemSource(t, testTenant, "meaning "+tc.name)
			s.add(t, base, nil)
			s.add(t, base, nil)
			e := base
			tc.edit(&e)
			s.add(t, e, nil)
			s.add(t, base, nil)
			b := exportBundle(t, s, nil, audit.Filter{})
			wantFail(t, b, audit.VerifyOptions{TrustedKey: s.vkey}, 3)
			f := exportBundle(t, s, nil, audit.Filter{ActorID: "usr_alice"})
			wantFail(t, f, audit.VerifyOptions{TrustedKey: s.vkey}, 3)
		})
	}
	t.Run("SameTime", func(t *testing.T) {
		s := newMemSource(t, testTenant, "meaning same time")
		e := base
		e.Time = "2026-03-02T09:00:00.000000000Z"
		s.add(t, e, nil)
		s.add(t, e, nil)
		mustVerify(t, exportBundle(t, s, nil, audit.Filter{}), audit.VerifyOptions{TrustedKey: s.vkey})
	})
}

// regexpReplace returns an edit replacing the first match of expr.
func regexpReplace(expr, with string) func(string) string {
	re := regexp.MustCompile(expr)
	return func(l string) string {
		loc := re.FindStringIndex(l)
		if loc == nil {
			panic("no match for " + expr + " in " + l)
		}
		return l[:loc[0]] + with + l[loc[1]:]
	}
}

// regexpFunc returns an edit applying f to the first submatch of expr.
func regexpFunc(expr string, f func(string) string) func(string) string {
	re := regexp.MustCompile(expr)
	return func(l string) string {
		m := re.FindStringSubmatchIndex(l)
		if m == nil {
			panic("no match for " + expr + " in " + l)
		}
		return l[:m[2]] + f(l[m[2]:m[3]]) + l[m[3]:]
	}
}

// flipLow sets the lowest bit of a base64 character: in the last character
// before padding, that bit is a padding bit.
func flipLow(c string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return string(alphabet[strings.IndexByte(alphabet, c[0])^1])
}

// editBundleLeaf returns b with the leaf of event seq edited (and
// re-encoded, so it stays canonical base64 of a canonical leaf), its hash
// changed.
func editBundleLeaf(tb testing.TB, b []byte, seq int64, old, new string) []byte {
	tb.Helper()
	ls := splitBundle(tb, b)
	i := eventIndex(tb, ls, seq)
	ls[i].Leaf = editLeaf(tb, ls[i].Leaf, old, new)
	ls[i].remarshal(tb)
	return joinBundle(ls)
}
