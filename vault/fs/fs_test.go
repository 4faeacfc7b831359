package fs_test

import (
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/blobtest"
	"github.com/casevault/casevault/vault/fs"
)

// openStore returns a store in a fresh directory, and checks when the test
// ends that no temporary file was left behind, whatever the test did.
func openStore(tb testing.TB) *fs.Store {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "blobs")
	s, err := fs.New(dir)
	if err != nil {
		tb.Fatalf("fs.New: %v", err)
	}
	tb.Cleanup(func() {
		if left := tempFiles(tb, dir); len(left) > 0 {
			tb.Errorf("temporary files left behind: %q", left)
		}
	})
	return s
}

func tempFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var left []string
	err := filepath.WalkDir(dir, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			left = append(left, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("walking %s: %v", dir, err)
	}
	return left
}

func TestStore(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) vault.BlobStore { return openStore(t) })
}

func TestNew(t *testing.T) {
	t.Run("CreatesPrivateDir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		s, err := fs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o700); got != want {
			t.Errorf("dir mode = %v, want %v", got, want)
		}
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{"", file} {
			if _, err := fs.New(dir); vault.ErrorCode(err) != vault.EINVALID {
				t.Errorf("New(%q) = %v, want code %q", dir, err, vault.EINVALID)
			}
		}
	})
}

func TestStore_FileModes(t *testing.T) {
	s := openStore(t)
	if _, err := s.Put(context.Background(), "ten_x/blb_y", strings.NewReader("secret"), 6); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(s.Dir(), "ten_x"):          0o700,
		filepath.Join(s.Dir(), "ten_x", "blb_y"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", path, got, want)
		}
	}
}

// errSrc is what brokenReader fails with.
var errSrc = errors.New("source broke")

type brokenReader struct{ n int }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errSrc
	}
	n := min(len(p), b.n)
	b.n -= n
	return n, nil
}

func TestStore_PutFailureLeavesNoTempFile(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	_, err := s.Put(ctx, "ten_x/a", &brokenReader{n: 1 << 20}, -1)
	if !errors.Is(err, errSrc) {
		t.Fatalf("Put = %v, want %v", err, errSrc)
	}
	_, err = s.Put(ctx, "ten_x/b", strings.NewReader("short"), 10)
	if got, want := vault.ErrorCode(err), vault.EINVALID; got != want {
		t.Fatalf("Put short = %v, want code %q", err, want)
	}
	if left := tempFiles(t, s.Dir()); len(left) > 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}

func TestStore_KeyClash(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "a/b", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "a/b/c"} {
		_, err := s.Put(ctx, key, strings.NewReader("x"), 1)
		if got, want := vault.ErrorCode(err), vault.EINVALID; got != want {
			t.Errorf("Put(%q) next to a/b = %v, want code %q", key, err, want)
		}
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete of a directory = %v, want nil", err)
	}
	rc, err := s.Get(ctx, "a/b", 0, -1)
	if err != nil {
		t.Fatalf("Get(a/b) after Delete(a): %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "x" {
		t.Errorf("Get(a/b) = %q, want %q", b, "x")
	}
}

func TestStore_ListSkipsStrangers(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "k/ok", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"k/.hidden", "k/UPPER", "k/dot.txt"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(s.Dir(), "k", "link")); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.List(ctx, "", func(bi vault.BlobInfo) error { got = append(got, bi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "k/ok" {
		t.Errorf("List = %q, want [k/ok]", got)
	}
	// A symlink is no object: Get must not follow it out of the store.
	os.Remove(filepath.Join(s.Dir(), "k", ".hidden")) // keep the cleanup check quiet
	if _, err := s.Stat(ctx, "k/link"); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("Stat(k/link) = %v, want not_found", err)
	}
	if _, err := s.Get(ctx, "k/link", 0, -1); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Errorf("Get(k/link) = %v, want not_found", err)
	}
}
