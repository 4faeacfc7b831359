package residency_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/residency"
)

const docPath = "../docs/RESIDENCY.md"

const exampleBegin, exampleEnd = "<!-- worked-example:begin -->\n", "<!-- worked-example:end -->"

// TestReport_WorkedExample writes §6 of docs/RESIDENCY.md from the code:
// a report built by Build over real fs stores and files, signed with a
// test key, verified by Verify, summarised by WriteSummary. It fails when
// the doc is out of date; CASEVAULT_UPDATE_DOCS=1 rewrites it.
func TestReport_WorkedExample(t *testing.T) {
	docPath, err := filepath.Abs(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Chdir(t.TempDir()) // relative paths, the same on every run
	ca, us := newFS(t, "regions/ca/blobs"), newFS(t, "regions/us/blobs")
	put(t, ca, "ten_maple/doc_1/v1", []byte("ciphertext of the lease, version 1"))
	put(t, ca, "ten_maple/doc_1/v2", []byte("ciphertext of the lease, version 2"))
	put(t, ca, "ten_birch/doc_5/v1", []byte("another ca firm's ciphertext"))
	put(t, us, "ten_oak/doc_3/v1", []byte("a us firm's ciphertext"))
	for name, b := range map[string]string{"casevault.db": "rows of ten_oak", "casevault.db-wal": "more rows of ten_oak", "audit.db": "events of ten_oak"} {
		if err := os.WriteFile(filepath.Join("regions/us", name), []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key := newTestKey(t, "casevault-audit-ca")
	r, err := residency.Build(ctx, residency.Input{
		Tenant: "ten_maple", Region: "ca",
		Stores: []residency.StoreInput{{Desc: residency.StoreDesc{Kind: residency.KindFS, Path: "regions/ca/blobs"}, Store: ca, Prefix: "ten_maple/"}},
		OtherCells: []residency.CellInput{{Region: "us", Dir: "regions/us", Stores: []residency.StoreInput{
			{Desc: residency.StoreDesc{Kind: residency.KindFS, Path: "regions/us/blobs"}, Store: us}}}},
		Needles: [][]byte{[]byte("ann@maple.example"), []byte("MARKER-7f3e")},
		Moves: []residency.Move{{From: "us", To: "ca", HandoverSeq: 318,
			Started:  residency.Time{Time: time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)},
			Finished: residency.Time{Time: time.Date(2026, 3, 1, 22, 4, 31, 250000000, time.UTC)}}},
		Now: fixedClock(time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := r.Sign(key.signer)
	if err != nil {
		t.Fatal(err)
	}
	v, err := residency.Verify(signed, []string{key.vkey})
	if err != nil {
		t.Fatal(err)
	}
	var ex strings.Builder
	fmt.Fprintf(&ex, "The signed report (`ten_maple.residency`):\n\n```\n%s```\n\n", signed)
	fmt.Fprintf(&ex, "Verifier key: `%s`\n\n", key.vkey)
	ex.WriteString("The lines whose SHA-256 is `objects_sha256` (§3):\n\n```\n")
	for i, s := range v.Stores {
		for _, o := range s.List {
			fmt.Fprintf(&ex, "%d %s %d %s\n", i, o.Key, o.Size, o.SHA256)
		}
	}
	fmt.Fprintf(&ex, "```\n\nSHA-256 of those %d lines, LF included: `%s`.\n\n", v.Objects, residency.ObjectsDigest(v.Stores))
	fmt.Fprintf(&ex, "`casevault residency verify --key '%s' ten_maple.residency` prints:\n\n```\n", key.vkey)
	if err := v.WriteSummary(&ex); err != nil {
		t.Fatal(err)
	}
	ex.WriteString("```\n")

	i, j := bytes.Index(doc, []byte(exampleBegin)), bytes.Index(doc, []byte(exampleEnd))
	if i < 0 || j < i {
		t.Fatalf("%s has no worked example markers", docPath)
	}
	if got := string(doc[i+len(exampleBegin) : j]); got != ex.String() {
		if os.Getenv("CASEVAULT_UPDATE_DOCS") != "" {
			updated := append(append(append([]byte{}, doc[:i+len(exampleBegin)]...), ex.String()...), doc[j:]...)
			if err := os.WriteFile(docPath, updated, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("updated %s", docPath)
			return
		}
		t.Errorf("the worked example in %s is out of date (CASEVAULT_UPDATE_DOCS=1 rewrites it); the code writes:\n%s", docPath, ex.String())
	}
}

// TestDoc_ExampleVerifies reads the worked example's signed report and
// verifier key out of docs/RESIDENCY.md as a reader would, and checks that
// it verifies, and that a change to one byte does not.
func TestDoc_ExampleVerifies(t *testing.T) {
	report, vkey := docExample(t)
	m := []string{"", report, vkey}
	r, err := residency.Verify([]byte(m[1]), []string{m[2]})
	if err != nil {
		t.Fatalf("the worked example does not verify: %v", err)
	}
	if r.Tenant != "ten_maple" || r.Region != "ca" {
		t.Errorf("worked example: got firm %s in %s, want ten_maple in ca", r.Tenant, r.Region)
	}
	changed := strings.Replace(m[1], `"handover_seq": 318`, `"handover_seq": 319`, 1)
	if _, err := residency.Verify([]byte(changed), []string{m[2]}); err == nil {
		t.Errorf("the worked example with handover_seq changed: verifies, want a failure")
	}
}

// docExample returns the worked example's signed report and verifier key,
// read out of docs/RESIDENCY.md.
func docExample(tb testing.TB) (report, vkey string) {
	tb.Helper()
	doc, err := os.ReadFile(docPath)
	if err != nil {
		tb.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(exampleBegin)), bytes.Index(doc, []byte(exampleEnd))
	if i < 0 || j < i {
		tb.Fatalf("%s has no worked example markers", docPath)
	}
	m := regexp.MustCompile("(?s)```\n(.*?)```\n\nVerifier key: `([^`]+)`").FindStringSubmatch(string(doc[i:j]))
	if m == nil {
		tb.Fatalf("no signed report and verifier key in the worked example of %s", docPath)
	}
	return m[1], m[2]
}
