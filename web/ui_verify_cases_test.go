package web_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// verifyCorpus is the corpus of TestUIVerify_Corpus: the fixture's
// bundles, harmless variants of them, and tampered copies.
func verifyCorpus(t *testing.T, fx *verifyFixture) []verifyCase {
	t.Helper()
	C, F := fx.complete, fx.filtered
	cl, fl := bundleLines(C), bundleLines(F)
	size := int64(0)
	for _, l := range cl {
		if strings.HasPrefix(l, `{"type":"event"`) {
			size++
		}
	}
	// k: an event in the middle with a private part; its line and the end
	// line's index.
	k := size / 2
	for ; k < size-2; k++ {
		if strings.Contains(cl[lineOfSeq(t, cl, k)], `"private"`) {
			break
		}
	}
	ki, end := lineOfSeq(t, cl, k), len(cl)-1
	// The filtered bundle's event lines and later checkpoint lines.
	var fseqs []int
	var fcks []int
	for i, l := range fl {
		switch {
		case i > 1 && strings.HasPrefix(l, `{"type":"event"`):
			fseqs = append(fseqs, i)
		case i > 1 && strings.HasPrefix(l, `{"type":"checkpoint"`):
			fcks = append(fcks, i)
		}
	}
	if len(fseqs) < 3 || len(fcks) < 2 {
		t.Fatalf("filtered bundle has %d events and %d checkpoint lines, want more:\n%s", len(fseqs), len(fcks), F)
	}
	fev := fseqs[1] // an event line of the filtered bundle, not the last
	// ckAfter: a later checkpoint line of the complete bundle.
	ckLater := 0
	for i := 2; i < len(cl); i++ {
		if strings.HasPrefix(cl[i], `{"type":"checkpoint"`) {
			ckLater = i
			break
		}
	}
	if ckLater == 0 {
		t.Fatal("the complete bundle has no later checkpoint line")
	}
	beforeCk := int64(0) // the event right before that checkpoint line
	if m := obj(t, cl[ckLater-1]); m["type"] == "event" {
		n, _ := m["seq"].(json.Number).Int64()
		beforeCk = n
	}
	if beforeCk < 2 {
		t.Fatalf("line %d before the checkpoint line is not an event after the first", ckLater-1)
	}
	now := time.Now().UTC()
	w1, w2 := newWitness(t, "witness.example/one"), newWitness(t, "witness.example/two")
	W := w1.cosign(t, C)

	drop := func(b []byte, i int) []byte {
		ls := bundleLines(b)
		return joinLines(append(ls[:i:i], ls[i+1:]...))
	}
	swap := func(b []byte, i, j int) []byte {
		ls := bundleLines(b)
		ls[i], ls[j] = ls[j], ls[i]
		return joinLines(ls)
	}
	dup := func(b []byte, i int) []byte {
		ls := bundleLines(b)
		return joinLines(append(ls[:i+1:i+1], ls[i:]...))
	}
	endCount := func(b []byte, n int64) []byte {
		ls := bundleLines(b)
		ls[len(ls)-1] = `{"type":"end","events":` + jsonNumber(n) + `}`
		return joinLines(ls)
	}
	replace := strings.Replace
	noteEdit := func(b []byte, i int, f func(string) string) []byte {
		return editLine(b, i, func(l string) string {
			m := obj(t, l)
			m["note"] = f(m["note"].(string))
			return enc(t, m)
		})
	}
	// sigFlip alters the first signature line of a note.
	sigFlip := func(n string) string {
		i := strings.Index(n, "\n— ")
		j := strings.Index(n[i+len("\n— "):], " ") + i + len("\n— ")
		s := []byte(n)
		if s[j+10] == 'A' {
			s[j+10] = 'B'
		} else {
			s[j+10] = 'A'
		}
		return string(s)
	}
	// lastSigFlip alters the last signature line of a note (a witness's,
	// once cosigned).
	lastSigFlip := func(n string) string {
		s := []byte(n)
		c := len(s) - 12
		if s[c] == 'A' {
			s[c] = 'B'
		} else {
			s[c] = 'A'
		}
		return string(s)
	}
	prevOf := func(seq int64) string {
		m := obj(t, cl[lineOfSeq(t, cl, seq)])
		leaf, _ := base64.StdEncoding.DecodeString(m["leaf"].(string))
		return leaf2field(string(leaf), "prev")
	}

	return append([]verifyCase{
		// Untampered, and variants that change nothing the format reads.
		{name: "Complete", b: C, ok: true},
		{name: "Filtered", b: F, ok: true},
		{name: "Witnessed", b: W, witnesses: []string{w1.vkey}, ok: true},
		{name: "WitnessedNotRequired", b: W, ok: true},
		{name: "BundleKeyOnly", b: C, keys: []string{}, ok: true},
		{name: "CRLF", b: []byte(strings.ReplaceAll(string(C), "}\n", "}\r\n")), ok: true},
		{name: "MembersReordered", b: editLine(C, ki, func(l string) string { return enc(t, obj(t, l)) }), ok: true},
		{name: "Whitespace", b: editLine(C, 0, func(l string) string { return replace(l, `"complete":true`, ` "complete" : true `, 1) }), ok: true},
		{name: "EscapedName", b: editLine(C, ki, func(l string) string { return replace(l, `"seq":`, `"se\u0071":`, 1) }), ok: true},

		// Event lines changed, deleted, reordered, duplicated.
		{name: "LeafEditedCanonical", b: editLeaf(t, C, k, func(s string) string { return replace(s, `"outcome":"ok"`, `"outcome":"denied"`, 1) })},
		{name: "LeafEditedBeforeCheckpoint", b: editLeaf(t, C, beforeCk, func(s string) string { return replace(s, `"outcome":"ok"`, `"outcome":"error"`, 1) })},
		{name: "LeafNotCanonical", b: editLeaf(t, C, k, func(s string) string { return replace(s, `"seq":`, `"seq": `, 1) })},
		{name: "LeafSeqEdited", b: editLeaf(t, C, k, func(s string) string { return replace(s, `"seq":`+jsonNumber(k)+`,`, `"seq":`+jsonNumber(k+1)+`,`, 1) })},
		{name: "LeafTenantEdited", b: editLeaf(t, C, k, func(s string) string { return replace(s, `"tenant":"`, `"tenant":"x`, 1) })},
		{name: "LeafTimeLayout", b: editLeaf(t, C, k, func(s string) string { return sub(`Z","prev"`, `+00:00","prev"`)(s) })},
		{name: "LeafPrevEdited", b: editLeaf(t, C, k, func(s string) string { return replace(s, prevOf(k), prevOf(k-1), 1) })},
		{name: "LastEventEdited", b: editLeaf(t, C, size, func(s string) string { return replace(s, `"format":"jsonl"`, `"format":"csv"`, 1) })},
		{name: "EventDeleted", b: drop(C, ki)},
		{name: "EventsSwapped", b: swap(C, ki, lineOfSeq(t, cl, k+1))},
		{name: "EventDuplicated", b: dup(C, ki)},
		{name: "EventInserted", b: func() []byte {
			b := dup(C, ki)
			return editLeaf(t, b, k, func(s string) string { return replace(s, `"outcome":"ok"`, `"outcome":"error"`, 1) })
		}()},
		{name: "PrivateEdited", b: editLine(C, ki, func(l string) string {
			m := obj(t, l)
			m["private"] = replace(m["private"].(string), `"`, `"X`, 3)
			return enc(t, m)
		})},
		{name: "NonceEdited", b: editLine(C, ki, sub(`"nonce":"[A-Za-z0-9+/]`, `"nonce":"Q`))},
		{name: "NonceWithoutPrivate", b: editLine(C, ki, sub(`"private":"(?:[^"\\]|\\.)*",`, ``))},

		// The end, cut short.
		{name: "EndLineDropped", b: drop(C, end)},
		{name: "EndCountWrong", b: endCount(C, size+1)},
		{name: "CutShortAfterEvent", b: joinLines(cl[:ki])},
		{name: "CutShortMidLine", b: []byte(string(C)[:strings.Index(string(C), cl[ki])+40])},
		{name: "NoFinalLF", b: C[:len(C)-1]},
		{name: "LineAfterEnd", b: append(append([]byte{}, C...), []byte(`{"type":"end","events":0}`+"\n")...)},
		{name: "Empty", b: []byte{}},
		{name: "ExportEventDropped", b: endCount(drop(C, lineOfSeq(t, cl, size)), size-1)},

		// Checkpoints: signatures, keys, sizes, roots.
		{name: "HeadSignatureForged", b: noteEdit(C, 1, sigFlip)},
		// Its timestamp line, made with the same key, remains: it vouches
		// for a time, and does not sign the checkpoint (§5).
		{name: "HeadSignatureMissing", b: noteEdit(C, 1, func(n string) string {
			i := strings.Index(n, "\n— ")
			j := strings.Index(n[i+1:], "\n") + i + 1
			return n[:i+1] + n[j+1:]
		})},
		{name: "LaterSignatureForged", b: noteEdit(C, ckLater, sigFlip)},
		{name: "TimestampLineRemoved", b: noteEdit(C, ckLater, func(n string) string {
			ls := strings.Split(strings.TrimSuffix(n, "\n"), "\n")
			return strings.Join(ls[:len(ls)-1], "\n") + "\n"
		})},
		{name: "HeadRootAltered", b: noteEdit(C, 1, func(n string) string {
			ls := strings.SplitN(n, "\n", 4)
			ls[2] = "A" + ls[2][1:]
			if ls[2] == strings.SplitN(n, "\n", 4)[2] {
				ls[2] = "B" + ls[2][1:]
			}
			return strings.Join(ls, "\n")
		})},
		{name: "HeadSizeAltered", b: noteEdit(C, 1, func(n string) string {
			ls := strings.SplitN(n, "\n", 4)
			ls[1] += "0"
			return strings.Join(ls, "\n")
		})},
		{name: "AnotherTrustedKey", b: C, keys: []string{otherKey(t, "casevault-audit-us")}},
		{name: "WrongKeyName", b: editLine(C, 0, func(l string) string {
			return replace(l, `"verifier_key":"casevault-audit-`, `"verifier_key":"casevault-audif-`, 1)
		})},
		{name: "KeyNameWrongBundleKeyOnly", b: editLine(C, 0, func(l string) string {
			return replace(l, `"verifier_key":"casevault-audit-`, `"verifier_key":"casevault-audif-`, 1)
		}), keys: []string{}},
		// A key hash of digits only has no uppercase form: then the key is
		// the same and verifies (one run in 43).
		{name: "UppercaseKeyHash", b: C, keys: []string{upperHash(fx.key)}, input: upperHash(fx.key) != fx.key, ok: upperHash(fx.key) == fx.key},
		{name: "HeaderExportIDEdited", b: editLine(C, 0, changeAfter(`"export_id":"exp_`))},
		{name: "HeaderExportedAtEdited", b: editLine(C, 0, sub(`"exported_at":"....`, `"exported_at":"2025`))},
		{name: "HeaderCompleteFalse", b: editLine(C, 0, func(l string) string { return replace(l, `"complete":true`, `"complete":false`, 1) })},

		// Strict reading (§1).
		{name: "NameCase", b: editLine(C, ki, func(l string) string { return replace(l, `"seq":`, `"Seq":`, 1) })},
		{name: "NameRepeated", b: editLine(C, ki, func(l string) string {
			return replace(l, `"seq":`+jsonNumber(k), `"seq":`+jsonNumber(k)+`,"seq":`+jsonNumber(k), 1)
		})},
		{name: "NameRepeatedEscaped", b: editLine(C, ki, func(l string) string {
			return replace(l, `"seq":`+jsonNumber(k), `"seq":`+jsonNumber(k)+`,"se\u0071":`+jsonNumber(k), 1)
		})},
		{name: "NullMember", b: editLine(C, ki, func(l string) string { return strings.TrimSuffix(l, "}") + `,"proof":null}` })},
		{name: "NullInHeaderFilter", b: editLine(C, 0, func(l string) string { return replace(l, `"filter":{}`, `"filter":null`, 1) })},
		{name: "SeqAsString", b: editLine(C, ki, func(l string) string { return replace(l, `"seq":`+jsonNumber(k), `"seq":"`+jsonNumber(k)+`"`, 1) })},
		{name: "UnknownType", b: editLine(C, ki, func(l string) string { return replace(l, `"type":"event"`, `"type":"Event"`, 1) })},
		{name: "ProofInComplete", b: editLine(C, ki, func(l string) string { return strings.TrimSuffix(l, "}") + `,"proof":[]}` })},
		{name: "LeafPaddingBits", b: editLine(C, paddedLeaf(t, cl), flipPad("leaf"))},
		{name: "NoncePaddingBits", b: editLine(C, ki, flipPad("nonce"))},
		{name: "LeafLineBreak", b: editLine(C, ki, func(l string) string { i := strings.Index(l, `"leaf":"`) + 20; return l[:i] + `\n` + l[i:] })},
		{name: "BOM", b: append([]byte("\ufeff"), C...)},
		{name: "LineErrorWhileBreakPending", b: editLine(editLeaf(t, C, k, func(s string) string { return replace(s, `"outcome":"ok"`, `"outcome":"denied"`, 1) }), lineOfSeq(t, cl, k+2), func(l string) string { return replace(l, `"seq":`, `"Seq":`, 1) })},

		// Filtered bundles: proofs, consistency, order, the export event.
		{name: "FilteredProofEdited", b: editLine(F, fev, sub(`"proof":\["[A-Za-z0-9+/]`, `"proof":["Q`))},
		{name: "FilteredProofMissing", b: editLine(F, fev, sub(`,"proof":\[[^\]]*\]`, ``))},
		{name: "FilteredConsistencyEdited", b: editLine(F, fcks[0], sub(`"consistency":\["[A-Za-z0-9+/]`, `"consistency":["Q`))},
		{name: "FilteredCheckpointMoved", b: swap(F, fcks[len(fcks)-1], fseqs[len(fseqs)-2])},
		{name: "FilteredExportEventDropped", b: endCount(drop(F, fseqs[len(fseqs)-1]), int64(len(fseqs)-1))},
		{name: "FilteredHeaderFilterEdited", b: editLine(F, 0, changeAfter(`"actor_id":"usr_`))},

		// Age (--max-age, --at), on the log's own timestamps.
		{name: "MaxAgeFresh", b: C, maxAge: "1h", ok: true},
		{name: "MaxAgeTooOld", b: C, maxAge: "24h", at: now.Add(48 * time.Hour).Format(time.RFC3339)},
		{name: "AtBeforeTimestamps", b: C, at: now.Add(-time.Hour).Format(time.RFC3339)},
		{name: "MaxAgeFormat1", b: editLine(C, 0, func(l string) string {
			return sub(`,"export_id":"[^"]*"`, ``)(replace(l, "casevault-audit-bundle/2", "casevault-audit-bundle/1", 1))
		}), maxAge: "1h"},

		// Witnesses.
		{name: "WitnessCosignatureAltered", b: noteEdit(W, 1, lastSigFlip), witnesses: []string{w1.vkey}, min: 1},
		{name: "WitnessCosignatureAlteredNotRequired", b: noteEdit(W, 1, lastSigFlip), ok: true},
		{name: "WitnessTooFew", b: W, witnesses: []string{w1.vkey, w2.vkey}, min: 2},
		{name: "WitnessTooMany", b: W, witnesses: []string{w1.vkey}, min: 2, input: true},
		{name: "WitnessGivenTwice", b: W, witnesses: []string{w1.vkey, w1.vkey}, input: true},
		{name: "WitnessOneOfTwo", b: W, witnesses: []string{w1.vkey, w2.vkey}, min: 1, ok: true},
		{name: "WitnessMissing", b: C, witnesses: []string{w1.vkey}},
		{name: "WitnessLaterAltered", b: noteEdit(W, ckLater, lastSigFlip), witnesses: []string{w1.vkey}},
	}, moveCases(t)...) // a firm's move between regions (ui_verify_move_test.go)
}

// leaf2field returns the string member name of a leaf's JSON text.
func leaf2field(leaf, name string) string {
	i := strings.Index(leaf, `"`+name+`":"`) + len(name) + 4
	return leaf[i : i+strings.Index(leaf[i:], `"`)]
}

// paddedLeaf is the index of an event line whose leaf's base64 has padding.
func paddedLeaf(t *testing.T, ls []string) int {
	for i, l := range ls {
		if strings.HasPrefix(l, `{"type":"event"`) && strings.Contains(l, `=","`) || strings.Contains(l, `=="`) && strings.HasPrefix(l, `{"type":"event"`) {
			if m := obj(t, l); strings.HasSuffix(m["leaf"].(string), "=") {
				return i
			}
		}
	}
	t.Fatal("no leaf with base64 padding")
	return 0
}

// upperHash is key with its key hash in uppercase (malformed, §5).
// changeAfter returns an edit of a line that changes the character after
// the first at, whatever it is (a fixed replacement left a value that
// already had it as it was: one run in 32 verified).
func changeAfter(at string) func(string) string {
	return func(l string) string {
		i := strings.Index(l, at) + len(at)
		c := byte('z')
		if l[i] == c {
			c = 'y'
		}
		return l[:i] + string(c) + l[i+1:]
	}
}

func upperHash(key string) string {
	parts := strings.SplitN(key, "+", 3)
	return parts[0] + "+" + strings.ToUpper(parts[1]) + "+" + parts[2]
}
