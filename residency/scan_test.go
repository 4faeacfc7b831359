package residency_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
)

// TestScanDir_SQLiteWAL: a needle in a row of a SQLite database in WAL mode
// is found in the -wal file while the database is open, and in the
// database file once it is closed (checkpointed).
func TestScanDir_SQLiteWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := sqliteWAL(t, filepath.Join(dir, "sub", "casevault.db"), "owner ann@ca.example of ten_cafirm0001")
	needles := [][]byte{[]byte("ten_cafirm0001"), []byte("ann@ca.example"), []byte("not-there")}

	hits, err := residency.ScanDir(ctx, dir, needles)
	if err != nil {
		t.Fatal(err)
	}
	var inWAL []string
	for _, h := range hits {
		if h.Needle == 2 {
			t.Errorf("needle 2 is nowhere, got hit %s", h)
		}
		if strings.HasSuffix(h.File, "casevault.db-wal") {
			inWAL = append(inWAL, string(h.Match))
		}
	}
	if got := strings.Join(inWAL, ","); !strings.Contains(got, "ten_cafirm0001") || !strings.Contains(got, "ann@ca.example") {
		t.Errorf("hits in the -wal file: got %q, want both needles; all hits: %v", got, hits)
	}
	// The offset a hit names holds the needle.
	for _, h := range hits {
		b, err := os.ReadFile(h.File)
		if err != nil {
			t.Fatal(err)
		}
		if got := b[h.Offset : h.Offset+int64(len(h.Match))]; !bytes.Equal(got, h.Match) {
			t.Errorf("%s: bytes at offset: got %q, want %q", h, got, h.Match)
		}
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	hits, err = residency.ScanFiles(ctx, []string{filepath.Join(dir, "sub", "casevault.db"), filepath.Join(dir, "sub", "gone-journal")}, needles[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 {
		t.Errorf("after Close, hits in casevault.db: got none, want the firm id")
	}
}

// TestScanner_Straddle: needles that straddle the scanner's read buffer
// (256 KiB) are found once each, at their offsets, as are overlapping
// occurrences and needles at the very start and end.
func TestScanner_Straddle(t *testing.T) {
	const buf = 256 << 10
	needle := []byte("ten_straddle")
	data := bytes.Repeat([]byte{'.'}, 3*buf+100)
	want := []int64{0, buf - 5, 2*buf - 1, 2*buf + 40, int64(len(data) - len(needle))}
	for _, off := range want {
		copy(data[off:], needle)
	}
	copy(data[buf+1000:], "aaaa") // overlapping "aa" at 3 offsets
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := residency.NewScanner([][]byte{needle, []byte("aa")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.File(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	var got0, got1 []int64
	for _, h := range s.Hits() {
		if h.Needle == 0 {
			got0 = append(got0, h.Offset)
		} else {
			got1 = append(got1, h.Offset)
		}
	}
	if fmt.Sprint(got0) != fmt.Sprint(want) {
		t.Errorf("offsets of %q: got %v, want %v", needle, got0, want)
	}
	if w := []int64{buf + 1000, buf + 1001, buf + 1002}; fmt.Sprint(got1) != fmt.Sprint(w) {
		t.Errorf("offsets of \"aa\": got %v, want %v", got1, w)
	}
	if got, want := s.Stats(), (residency.Stats{Files: 1, FileBytes: int64(len(data))}); got != want {
		t.Errorf("Stats: got %+v, want %+v", got, want)
	}
}

// TestScanner_Dropped: a needle found more than MaxHits times is counted,
// not kept.
func TestScanner_Dropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), residency.MaxHits+50), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := residency.NewScanner([][]byte{[]byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.File(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	if got, want := len(s.Hits()), residency.MaxHits; got != want {
		t.Errorf("hits kept: got %d, want %d", got, want)
	}
	if got, want := s.Dropped(), int64(50); got != want {
		t.Errorf("Dropped: got %d, want %d", got, want)
	}
}

// TestNewScanner_Invalid: no needle, or an empty one, is refused.
func TestNewScanner_Invalid(t *testing.T) {
	for _, needles := range [][][]byte{nil, {[]byte("a"), {}}} {
		if _, err := residency.NewScanner(needles); err == nil {
			t.Errorf("NewScanner(%q): got no error, want invalid", needles)
		}
	}
}

// TestScanStore_FS: a real local-directory store: needles in an object's
// bytes (across a read boundary) and in its key are found; every object is
// read.
func TestScanStore_FS(t *testing.T) {
	st := newFS(t, t.TempDir())
	big := bytes.Repeat([]byte{0}, 300<<10)
	copy(big[256<<10-3:], "ann@ca.example")
	put(t, st, "ten_other/doc_1/v1", big)
	put(t, st, "ten_cafirm0001/doc_2/v1", []byte("nothing"))
	put(t, st, "ten_other/doc_3/v1", []byte("clean"))
	testScanStore(t, st, int64(len(big)+len("nothing")+len("clean")))
}

func testScanStore(t *testing.T, st vault.BlobStore, wantBytes int64) {
	t.Helper()
	s, err := residency.NewScanner([][]byte{[]byte("ten_cafirm0001"), []byte("ann@ca.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store(context.Background(), "test store", st, ""); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range s.Hits() {
		got = append(got, h.String())
	}
	want := []string{
		`object key ten_cafirm0001/doc_2/v1 (store test store), offset 0: "ten_cafirm0001" (needle 0)`,
		`object ten_other/doc_1/v1 (store test store), offset 262141: "ann@ca.example" (needle 1)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hits:\ngot  %q\nwant %q", got, want)
	}
	if got, want := s.Stats(), (residency.Stats{Objects: 3, ObjectBytes: wantBytes}); got != want {
		t.Errorf("Stats: got %+v, want %+v", got, want)
	}
}

// TestScanDir_Cancelled: a cancelled scan fails; a missing directory
// fails (a scan that read nothing must not pass for one that found
// nothing).
func TestScanDir_Cancelled(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := residency.ScanDir(ctx, dir, residency.Needles("x")); err == nil {
		t.Errorf("ScanDir with a cancelled context: got no error")
	}
	if _, err := residency.ScanDir(context.Background(), filepath.Join(dir, "missing"), residency.Needles("x")); !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Errorf("ScanDir of a missing directory: got %v, want unavailable", err)
	}
}

// BenchmarkScanner reports the scan's throughput over 64 MiB of random
// bytes with ten needles of email length.
func BenchmarkScanner(b *testing.B) {
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i*2654435761>>13) ^ byte(i>>7)
	}
	path := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	var needles []string
	for i := range 10 {
		needles = append(needles, fmt.Sprintf("user%02d@firm.example", i))
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s, err := residency.NewScanner(residency.Needles(needles...))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.File(context.Background(), path); err != nil {
			b.Fatal(err)
		}
	}
}
