package residency_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/residency"
)

// text returns the text of a signed report.
func text(t *testing.T, signed []byte) string {
	t.Helper()
	i := bytes.LastIndex(signed, []byte("\n\n"))
	return string(signed[:i+1])
}

// resign signs text with signers, as a dishonest or broken builder would.
func resign(t *testing.T, text string, signers ...note.Signer) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit decodes the report text into generic JSON, lets change edit it, and
// encodes it back in the canonical form (two-space indent, the members in
// the report's order), which only Report's own encoder gives: so edits go
// through residency.Report.
func edit(t *testing.T, txt string, change func(r *residency.Report)) string {
	t.Helper()
	var r residency.Report
	if err := json.Unmarshal([]byte(txt), &r); err != nil {
		t.Fatal(err)
	}
	change(&r)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestVerify_Tamper: every change to a signed report, or to who signed it,
// fails Verify with a reason that names what failed.
func TestVerify_Tamper(t *testing.T) {
	f := newCellFixture(t)
	signed, _ := f.build(t)
	txt := text(t, signed)
	other := newTestKey(t, "casevault-residency-ca") // right region, wrong name
	service := newTestKey(t, "casevault-audit-service")

	if _, err := residency.Verify(signed, []string{f.ca.vkey}); err != nil {
		t.Fatalf("Verify of the untouched report: %v", err)
	}
	flip := bytes.Clone(signed)
	flip[bytes.Index(flip, []byte(`"objects": 2`))+11] = '3'

	for _, tc := range []struct {
		name string
		file []byte
		keys []string
		want string
	}{
		{"ByteOfBody", flip, []string{f.ca.vkey}, "does not verify: the report was changed after it was signed"},
		{"CountUnsigned", []byte(strings.Replace(string(signed), `"bytes": 70014`, `"bytes": 70015`, 1)), []string{f.ca.vkey}, "does not verify"},
		{"DroppedSignature", []byte(txt + "\n"), []string{f.ca.vkey}, "not a signed note"},
		{"NoSignatureLines", []byte(txt), []string{f.ca.vkey}, "not a signed note"},
		{"OtherRegionKey", resign(t, txt, f.us.signer), []string{f.ca.vkey}, "not signed by any of the given keys (signed by casevault-audit-us+"},
		{"OtherRegionKeyTrusted", resign(t, txt, f.us.signer), []string{f.ca.vkey, f.us.vkey}, "signed by casevault-audit-us, not by region ca's key casevault-audit-ca"},
		{"WrongKeyName", resign(t, txt, other.signer), []string{other.vkey}, "signed by casevault-residency-ca, not by region ca's key casevault-audit-ca"},
		{"NoKey", signed, nil, "no verifier key given"},
		{"BadKey", signed, []string{strings.ToUpper(f.ca.vkey)}, "verifier key"},
		{"RegionChanged", resign(t, edit(t, txt, func(r *residency.Report) { r.Region = "eu" }), f.ca.signer), []string{f.ca.vkey}, "not by region eu's key casevault-audit-eu"},
		{"RegionService", resign(t, edit(t, txt, func(r *residency.Report) { r.Region = "service"; r.Moves = r.Moves[:0] }), service.signer), []string{service.vkey}, `region "service" is not a region name`},
		{"CountResigned", resign(t, edit(t, txt, func(r *residency.Report) { r.Stores[0].Objects = 3 }), f.ca.signer), []string{f.ca.vkey}, "says 3 objects but lists 2"},
		{"SizeResigned", resign(t, edit(t, txt, func(r *residency.Report) { r.Stores[0].List[1].Size++ }), f.ca.signer), []string{f.ca.vkey}, "bytes but its objects add up to"},
		{"TotalResigned", resign(t, edit(t, txt, func(r *residency.Report) { r.Objects = 5 }), f.ca.signer), []string{f.ca.vkey}, "the report says 5 objects"},
		{"ObjectHashResigned", resign(t, edit(t, txt, func(r *residency.Report) { r.Stores[0].List[0].SHA256 = strings.Repeat("0", 64) }), f.ca.signer), []string{f.ca.vkey}, "objects_sha256 is"},
		{"ObjectDropped", resign(t, edit(t, txt, func(r *residency.Report) {
			r.Stores[0].List = r.Stores[0].List[:1]
			r.Stores[0].Objects, r.Stores[0].Bytes, r.Objects, r.Bytes = 1, 14, 1, 14
		}), f.ca.signer), []string{f.ca.vkey}, "objects_sha256 is"},
		{"ObjectsOutOfOrder", resign(t, edit(t, txt, func(r *residency.Report) {
			l := r.Stores[0].List
			l[0], l[1] = l[1], l[0]
		}), f.ca.signer), []string{f.ca.vkey}, "must be in byte order of keys"},
		{"ObjectOutsidePrefix", resign(t, edit(t, txt, func(r *residency.Report) { r.Stores[0].List[0].Key = "ten_otherca/doc_1/v1" }), f.ca.signer), []string{f.ca.vkey}, `is not a blob key under prefix "ten_cafirm0001/"`},
		{"PrefixOfAnotherFirm", resign(t, edit(t, txt, func(r *residency.Report) {
			r.Stores[0].Prefix = "ten_otherca/"
			for i := range r.Stores[0].List {
				r.Stores[0].List[i].Key = strings.Replace(r.Stores[0].List[i].Key, caFirm, "ten_otherca", 1)
			}
			r.ObjectsSHA256 = residency.ObjectsDigest(r.Stores)
		}), f.ca.signer), []string{f.ca.vkey}, `prefix "ten_otherca/" is not firm ten_cafirm0001's key prefix`},
		{"HitsResigned", resign(t, edit(t, txt, func(r *residency.Report) { r.OtherCells[0].Hits = 1 }), f.ca.signer), []string{f.ca.vkey}, "the scan of region us found 1 trace(s)"},
		{"OwnRegionScanned", resign(t, edit(t, txt, func(r *residency.Report) { r.OtherCells[0].Region = "ca" }), f.ca.signer), []string{f.ca.vkey}, "region ca is the firm's own region"},
		{"CellTwice", resign(t, edit(t, txt, func(r *residency.Report) { r.OtherCells = append(r.OtherCells, r.OtherCells[0]) }), f.ca.signer), []string{f.ca.vkey}, "region us is listed twice"},
		{"CellCounts", resign(t, edit(t, txt, func(r *residency.Report) { r.OtherCells[0].Objects++ }), f.ca.signer), []string{f.ca.vkey}, "objects and"},
		{"MoveElsewhere", resign(t, edit(t, txt, func(r *residency.Report) { r.Moves[0].To = "eu" }), f.ca.signer), []string{f.ca.vkey}, "the last move went to eu"},
		{"FormatChanged", resign(t, strings.Replace(txt, residency.Format, "casevault-residency/2", 1), f.ca.signer), []string{f.ca.vkey}, "does not start with the format line"},
		{"NotCanonical", resign(t, compact(t, txt), f.ca.signer), []string{f.ca.vkey}, "does not start with the format line"},
		{"NotCanonicalInside", resign(t, strings.Replace(txt, `"tenant": `, `"tenant":  `, 1), f.ca.signer), []string{f.ca.vkey}, "not in the canonical encoding"},
		{"UnknownMember", resign(t, strings.Replace(txt, `"tenant": `, `"extra": 1, "tenant": `, 1), f.ca.signer), []string{f.ca.vkey}, "unknown field"},
		{"NullMoves", resign(t, strings.Replace(txt, txt[strings.Index(txt, `"moves": [`):], `"moves": null`+"\n}\n", 1), f.ca.signer), []string{f.ca.vkey}, "not null"},
		{"TextAfterJSON", resign(t, txt+"{}\n", f.ca.signer), []string{f.ca.vkey}, "text after the JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := residency.Verify(tc.file, tc.keys)
			var ve *residency.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify: got %v, want a *VerifyError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify: got %q, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestVerify_SecondSignature: a report cosigned by another key verifies
// with the region's key, and a second, bad line of the region's key fails
// it.
func TestVerify_SecondSignature(t *testing.T) {
	f := newCellFixture(t)
	signed, _ := f.build(t)
	txt := text(t, signed)
	both := resign(t, txt, f.ca.signer, f.us.signer)
	if _, err := residency.Verify(both, []string{f.ca.vkey}); err != nil {
		t.Errorf("Verify of a report with a second signature of another key: %v", err)
	}
	i := bytes.LastIndex(signed, []byte("\n\n"))
	line := string(signed[i+2:])
	bad := []byte(line[:len(line)-3] + "A=\n")
	if bytes.Equal(bad, []byte(line)) {
		bad = []byte(line[:len(line)-3] + "B=\n")
	}
	twice := append(bytes.Clone(signed), bad...)
	if _, err := residency.Verify(twice, []string{f.ca.vkey}); err == nil {
		t.Errorf("Verify of a report with a second, bad line of the region's key: got no error")
	}
}

func compact(t *testing.T, txt string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(txt)); err != nil {
		t.Fatal(err)
	}
	return buf.String() + "\n"
}

// FuzzVerify: no input makes Verify panic, and whatever it accepts holds
// together and is signed by the ca key.
func FuzzVerify(f *testing.F) {
	key := newTestKey(f, "casevault-audit-ca")
	report, vkey := docExample(f)
	if vkey != key.vkey {
		f.Fatalf("the worked example's key: got %s, want %s", vkey, key.vkey)
	}
	f.Add([]byte(report))
	f.Add([]byte("{\n  \"format\": \"casevault-residency/1\",\n}\n\n— casevault-audit-ca AAAA\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := residency.Verify(b, []string{key.vkey})
		if err == nil && (got.Region != "ca" || len(got.SignedBy) == 0) {
			t.Errorf("Verify accepted a report of region %q signed by %v", got.Region, got.SignedBy)
		}
	})
}
