// Package blobtest is the conformance suite every vault.BlobStore must pass.
// A backend's tests call TestStore with a function that opens a store:
//
//	func TestStore(t *testing.T) {
//		blobtest.TestStore(t, func(t *testing.T) vault.BlobStore {
//			s, err := fs.New(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Semantics the suite pins down beyond the interface's comments: Put on an
// existing key replaces the object atomically, and a failed Put leaves the
// previous object intact; a range that runs past the end is cut at the end,
// and offset == size yields no bytes; a failed Put wraps the error of its
// reader; List returns keys in byte order, as S3 does.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// MiB is a mebibyte.
const MiB = 1 << 20

// LargeSize is the size of the suite's large object: over 100 MiB and not a
// multiple of any part size, so the last part is a short one.
const LargeSize = 101*MiB + 12345

// TestStore runs the conformance suite as subtests of t. open is called once
// per subtest and may return a fresh store or the same one every time: each
// subtest keeps to keys under its own random prefix. The large-object
// subtest is skipped with -short.
func TestStore(t *testing.T, open func(t *testing.T) vault.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s vault.BlobStore, p string)
	}{
		{"RoundTrip", testRoundTrip},
		{"Empty", testEmpty},
		{"Range", testRange},
		{"Stat", testStat},
		{"Delete", testDelete},
		{"ErrNotFound", testNotFound},
		{"ErrInvalidKey", testInvalidKey},
		{"SizeMismatch", testSizeMismatch},
		{"FailingReader", testFailingReader},
		{"CancelMidPut", testCancel},
		{"InvisibleUntilComplete", testInvisible},
		{"Overwrite", testOverwrite},
		{"List", testList},
		{"ConcurrentPuts", testConcurrent},
		{"Large", testLarge},
		{"Checksum", testChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t), fmt.Sprintf("bt-%016x", rand.Uint64()))
		})
	}
}

func testRoundTrip(t *testing.T, s vault.BlobStore, p string) {
	for _, size := range []int64{1, 1000, 3*MiB + 1} {
		data := genBytes(1, 0, size)
		for _, known := range []bool{true, false} {
			key := fmt.Sprintf("%s/obj-%d-%t", p, size, known)
			putSize := size
			if !known {
				putSize = -1
			}
			n, err := s.Put(context.Background(), key, bytes.NewReader(data), putSize)
			if err != nil {
				t.Fatalf("Put(%q, %d): %v", key, putSize, err)
			}
			if n != size {
				t.Errorf("Put(%q, %d) = %d, want %d", key, putSize, n, size)
			}
			if got := mustGet(t, s, key, 0, -1); !bytes.Equal(got, data) {
				t.Errorf("Get(%q): got %d bytes, want the %d put", key, len(got), len(data))
			}
		}
	}
}

func testEmpty(t *testing.T, s vault.BlobStore, p string) {
	for _, size := range []int64{0, -1} {
		key := fmt.Sprintf("%s/empty%d", p, -size)
		n, err := s.Put(context.Background(), key, strings.NewReader(""), size)
		if err != nil || n != 0 {
			t.Fatalf("Put(%q, size %d) = %d, %v; want 0, nil", key, size, n, err)
		}
		if got := mustGet(t, s, key, 0, -1); len(got) != 0 {
			t.Errorf("Get(%q) = %d bytes, want 0", key, len(got))
		}
		if got := mustGet(t, s, key, 0, 10); len(got) != 0 {
			t.Errorf("Get(%q, 0, 10) = %d bytes, want 0", key, len(got))
		}
		if info := mustStat(t, s, key); info.Size != 0 {
			t.Errorf("Stat(%q).Size = %d, want 0", key, info.Size)
		}
		_, err = s.Get(context.Background(), key, 1, -1)
		wantCode(t, err, vault.EINVALID, "Get(offset 1) of an empty object")
	}
}

func testRange(t *testing.T, s vault.BlobStore, p string) {
	const size = 1000
	data := genBytes(2, 0, size)
	key := p + "/ranged"
	mustPut(t, s, key, data)
	tests := []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"Start", 0, 10, data[:10]},
		{"Middle", 400, 123, data[400:523]},
		{"End", 990, 10, data[990:]},
		{"ToEnd", 500, -1, data[500:]},
		{"Whole", 0, -1, data},
		{"ZeroLength", 10, 0, nil},
		{"PastEnd", 995, 100, data[995:]},
		{"OffsetAtSize", size, -1, nil},
		{"OffsetAtSizeWithLength", size, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustGet(t, s, key, tt.offset, tt.length)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Get(%d, %d): got %d bytes, want %d (%x…)", tt.offset, tt.length, len(got), len(tt.want), tt.want[:min(len(tt.want), 8)])
			}
		})
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, off := range []int64{size + 1, size + 1000, -1} {
			rc, err := s.Get(context.Background(), key, off, -1)
			if err == nil {
				rc.Close()
			}
			wantCode(t, err, vault.EINVALID, fmt.Sprintf("Get(offset %d) of %d bytes", off, size))
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.Get(context.Background(), p+"/missing", 10, 5)
		wantCode(t, err, vault.ENOTFOUND, "ranged Get of a missing key")
	})
}

func testStat(t *testing.T, s vault.BlobStore, p string) {
	key := p + "/stat"
	before := time.Now()
	mustPut(t, s, key, genBytes(3, 0, 4321))
	info := mustStat(t, s, key)
	if info.Key != key || info.Size != 4321 {
		t.Errorf("Stat = {Key %q, Size %d}, want {Key %q, Size %d}", info.Key, info.Size, key, 4321)
	}
	// Servers keep whole seconds; allow for that and a little clock skew.
	if d := info.ModTime.Sub(before); d < -time.Minute || d > time.Minute {
		t.Errorf("Stat.ModTime = %v, want within a minute of %v", info.ModTime, before)
	}
}

func testDelete(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	key := p + "/del"
	mustPut(t, s, key, []byte("doomed"))
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Get(ctx, key, 0, -1)
	wantCode(t, err, vault.ENOTFOUND, "Get after Delete")
	_, err = s.Stat(ctx, key)
	wantCode(t, err, vault.ENOTFOUND, "Stat after Delete")
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := s.Delete(ctx, p+"/never/was"); err != nil {
		t.Errorf("Delete of a key never put = %v, want nil", err)
	}
}

func testNotFound(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	for _, key := range []string{p + "/missing", p + "/no/such/dir"} {
		_, err := s.Get(ctx, key, 0, -1)
		wantCode(t, err, vault.ENOTFOUND, "Get("+key+")")
		_, err = s.Stat(ctx, key)
		wantCode(t, err, vault.ENOTFOUND, "Stat("+key+")")
	}
	// A "directory" of other keys is no object either.
	mustPut(t, s, p+"/dir/child", []byte("x"))
	_, err := s.Get(ctx, p+"/dir", 0, -1)
	wantCode(t, err, vault.ENOTFOUND, "Get of a key's parent")
	_, err = s.Stat(ctx, p+"/dir")
	wantCode(t, err, vault.ENOTFOUND, "Stat of a key's parent")
}

func testInvalidKey(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	keys := []string{
		"", "/" + p, p + "/", p + "//a", "../" + p, p + "/../x", p + "/./x", "..", ".",
		p + "/A", p + "/a b", p + "/a.b", p + "/é", p + `\a`, p + "/a\x00", p + "/a?b", p + "/a%2f",
		strings.Repeat("a", 1025),
	}
	for _, key := range keys {
		_, err := s.Put(ctx, key, strings.NewReader("x"), 1)
		wantCode(t, err, vault.EINVALID, fmt.Sprintf("Put(%q)", key))
		_, err = s.Get(ctx, key, 0, -1)
		wantCode(t, err, vault.EINVALID, fmt.Sprintf("Get(%q)", key))
		_, err = s.Stat(ctx, key)
		wantCode(t, err, vault.EINVALID, fmt.Sprintf("Stat(%q)", key))
		err = s.Delete(ctx, key)
		wantCode(t, err, vault.EINVALID, fmt.Sprintf("Delete(%q)", key))
	}
	// The whole alphabet is fine.
	mustPut(t, s, p+"/abcdefghijklmnopqrstuvwxyz0123456789_-", []byte("ok"))
	err := s.List(ctx, "/"+p, func(vault.BlobInfo) error { return nil })
	wantCode(t, err, vault.EINVALID, "List with a leading slash")
}

func testSizeMismatch(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	tests := []struct {
		name       string
		size, have int64
	}{
		{"Short", 100, 50},
		{"Long", 50, 100},
		{"NothingAnnounced", 0, 1},
		{"ShortMultipart", 20 * MiB, 17 * MiB},
		{"LongMultipart", 17 * MiB, 17*MiB + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := p + "/" + strings.ToLower(tt.name)
			_, err := s.Put(ctx, key, newGen(4, tt.have), tt.size)
			wantCode(t, err, vault.EINVALID, fmt.Sprintf("Put of %d bytes announced as %d", tt.have, tt.size))
			wantMissing(t, s, key)

			// A failed overwrite keeps the previous object.
			old := []byte("previous")
			mustPut(t, s, key, old)
			_, err = s.Put(ctx, key, newGen(4, tt.have), tt.size)
			wantCode(t, err, vault.EINVALID, "overwriting Put with a size mismatch")
			if got := mustGet(t, s, key, 0, -1); !bytes.Equal(got, old) {
				t.Errorf("after failed overwrite: Get = %d bytes, want the previous %q", len(got), old)
			}
		})
	}
}

func testFailingReader(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	for _, size := range []int64{-1, 1000, 20 * MiB} {
		for _, after := range []int64{0, 500, 17 * MiB} {
			if size >= 0 && after >= size {
				continue
			}
			key := fmt.Sprintf("%s/fail-%d-%d", p, -size, after)
			total := 20 * MiB
			if size >= 0 {
				total = int(size)
			}
			r := &failingReader{r: newGen(5, int64(total)), n: after}
			_, err := s.Put(ctx, key, r, size)
			if !errors.Is(err, errSource) {
				t.Errorf("Put(size %d) failing after %d bytes = %v, want an error wrapping %q", size, after, err, errSource)
			}
			wantMissing(t, s, key)
		}
	}
}

func testCancel(t *testing.T, s vault.BlobStore, p string) {
	for _, size := range []int64{-1, 1000, 20 * MiB} {
		total := int64(20 * MiB)
		after := int64(5 * MiB)
		if size >= 0 {
			total = size
			after = size / 2
		}
		key := fmt.Sprintf("%s/cancel%d", p, -size)
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancellingReader{r: newGen(6, total), n: after, cancel: cancel}
		_, err := s.Put(ctx, key, r, size)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put(size %d) cancelled after %d bytes = %v, want an error wrapping context.Canceled", size, after, err)
		}
		wantMissing(t, s, key)
	}
	t.Run("Before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		key := p + "/cancelled-before"
		_, err := s.Put(ctx, key, strings.NewReader("x"), 1)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled context = %v, want an error wrapping context.Canceled", err)
		}
		wantMissing(t, s, key)
	})
}

func testInvisible(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	key := p + "/slow"
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, key, pr, 2*MiB)
		done <- err
	}()
	if _, err := pw.Write(make([]byte, MiB)); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, key)
	if _, err := pw.Write(make([]byte, MiB)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info := mustStat(t, s, key); info.Size != 2*MiB {
		t.Errorf("Stat.Size = %d, want %d", info.Size, 2*MiB)
	}
}

func testOverwrite(t *testing.T, s vault.BlobStore, p string) {
	key := p + "/over"
	mustPut(t, s, key, []byte("first version, longer"))
	mustPut(t, s, key, []byte("second"))
	if got := mustGet(t, s, key, 0, -1); string(got) != "second" {
		t.Errorf("Get after overwrite = %q, want %q", got, "second")
	}
	if info := mustStat(t, s, key); info.Size != 6 {
		t.Errorf("Stat.Size after overwrite = %d, want 6", info.Size)
	}
}

func testList(t *testing.T, s vault.BlobStore, p string) {
	ctx := context.Background()
	// Put out of order; "-" < "/" < "0" in byte order, which a naive
	// directory walk gets wrong.
	keys := []string{"z", "a/c", "b", "a0", "c/d/e", "a-b", "a/b"}
	for i, k := range keys {
		mustPut(t, s, p+"/"+k, make([]byte, i))
	}
	mustPut(t, s, p+"-sibling/x", nil) // shares p but not p+"/"

	list := func(prefix string) []string {
		t.Helper()
		var got []string
		err := s.List(ctx, prefix, func(bi vault.BlobInfo) error {
			got = append(got, strings.TrimPrefix(bi.Key, p+"/"))
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		return got
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"/", []string{"a-b", "a/b", "a/c", "a0", "b", "c/d/e", "z"}},
		{"/a", []string{"a-b", "a/b", "a/c", "a0"}},
		{"/a/", []string{"a/b", "a/c"}},
		{"/a/b", []string{"a/b"}},
		{"/c/d", []string{"c/d/e"}},
		{"/c/d/e", []string{"c/d/e"}},
		{"/nothing", nil},
		{"/nothing/", nil},
	}
	for _, tt := range tests {
		if got := list(p + tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("List(p+%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}

	// Sizes and infos are reported.
	err := s.List(ctx, p+"/b", func(bi vault.BlobInfo) error {
		if bi.Size != 2 || bi.ModTime.IsZero() {
			t.Errorf("List info = %+v, want size 2 and a mod time", bi)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// fn's error stops the walk and comes back.
	stop := errors.New("stop")
	for _, prefix := range []string{p + "/", ""} {
		calls := 0
		err := s.List(ctx, prefix, func(vault.BlobInfo) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("List(%q) with a failing fn = %v after %d calls, want %v after 1", prefix, err, calls, stop)
		}
	}
}

func testConcurrent(t *testing.T, s vault.BlobStore, p string) {
	const n = 16
	ctx := context.Background()
	length := func(i int) int64 { return 256<<10 + int64(i) }
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			size := length(i)
			if i%2 == 1 {
				size = -1 // half of them of unknown size
			}
			_, errs[i] = s.Put(ctx, fmt.Sprintf("%s/c%02d", p, i), newGen(byte(i), length(i)), size)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	for i := range n {
		want := genBytes(byte(i), 0, length(i))
		if got := mustGet(t, s, fmt.Sprintf("%s/c%02d", p, i), 0, -1); !bytes.Equal(got, want) {
			t.Errorf("object %d: got %d bytes, want the %d put", i, len(got), len(want))
		}
	}
	count := 0
	if err := s.List(ctx, p+"/", func(vault.BlobInfo) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("List after concurrent puts: %d objects, want %d", count, n)
	}
}

func testLarge(t *testing.T, s vault.BlobStore, p string) {
	if testing.Short() {
		t.Skip("large object skipped in -short mode")
	}
	ctx := context.Background()
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("KnownSize=%t", known), func(t *testing.T) {
			key := fmt.Sprintf("%s/large-%t", p, known)
			size := int64(LargeSize)
			if !known {
				size = -1
			}
			g := newGen(7, LargeSize)
			n, err := s.Put(ctx, key, g, size)
			if err != nil {
				t.Fatalf("Put(%d bytes, size %d): %v", int64(LargeSize), size, err)
			}
			defer s.Delete(ctx, key)
			if n != LargeSize {
				t.Errorf("Put = %d, want %d", n, int64(LargeSize))
			}
			if info := mustStat(t, s, key); info.Size != LargeSize {
				t.Errorf("Stat.Size = %d, want %d", info.Size, int64(LargeSize))
			}
			rc, err := s.Get(ctx, key, 0, -1)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			sum, got := hashReader(t, rc)
			if got != LargeSize || sum != g.sum() {
				t.Errorf("Get: %d bytes with sha256 %x, want %d bytes with %x", got, sum, int64(LargeSize), g.sum())
			}
			// A range straddling a 16 MiB part boundary.
			off, length := int64(48*MiB-1000), int64(5000)
			want := genBytes(7, off, length)
			if got := mustGet(t, s, key, off, length); !bytes.Equal(got, want) {
				t.Errorf("Get(%d, %d) differs from the bytes put", off, length)
			}
		})
	}
}
