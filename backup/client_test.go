package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/superfly/ltx"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
)

// newKey returns region's backup key, wrapped by a fresh master key, both
// under dir.
func newKey(tb testing.TB, dir, region string) *keys.BackupKey {
	tb.Helper()
	mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, region+"-master.json"))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := keys.LoadOrCreateBackupKey(context.Background(), filepath.Join(dir, region+"-backup.json"), region, mk)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// newStore returns an fs store in a new directory.
func newStore(tb testing.TB) (*fs.Store, string) {
	tb.Helper()
	dir := tb.TempDir()
	s, err := fs.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s, dir
}

// ltxFile returns a file that starts with a valid LTX header of the range
// and timestamp, followed by n random bytes.
func ltxFile(tb testing.TB, minTXID, maxTXID ltx.TXID, ts time.Time, n int) []byte {
	tb.Helper()
	h := ltx.Header{Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: 4096, Commit: 1,
		MinTXID: minTXID, MaxTXID: maxTXID, Timestamp: ts.UnixMilli()}
	b, err := h.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	body := make([]byte, n)
	rand.Read(body)
	return append(b, body...)
}

func readRange(tb testing.TB, c *backup.Client, level int, minTXID, maxTXID ltx.TXID, off, size int64) ([]byte, error) {
	tb.Helper()
	rc, err := c.OpenLTXFile(context.Background(), level, minTXID, maxTXID, off, size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestClient_RoundTrip(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	key := newKey(t, t.TempDir(), "us")
	c, err := backup.NewClient(store, key, backup.DBMetadata, "")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Truncate(time.Millisecond).UTC()
	files := map[ltx.TXID][]byte{
		1: ltxFile(t, 1, 1, ts, 0),
		2: ltxFile(t, 2, 2, ts.Add(time.Second), 1000),
		3: ltxFile(t, 3, 5, ts.Add(2*time.Second), 3*keys.BackupPartSize+17),
	}
	maxOf := map[ltx.TXID]ltx.TXID{1: 1, 2: 2, 3: 5}
	for _, min := range []ltx.TXID{3, 1, 2} {
		info, err := c.WriteLTXFile(ctx, 0, min, maxOf[min], bytes.NewReader(files[min]))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.Size, int64(len(files[min])); got != want {
			t.Errorf("written size of %s: got %d, want %d", min, got, want)
		}
	}

	itr, err := c.LTXFiles(ctx, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := ltx.SliceFileIterator(itr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(infos), 3; got != want {
		t.Fatalf("listed: got %d files, want %d", got, want)
	}
	for i, info := range infos {
		min := ltx.TXID(i + 1)
		if got, want := info.MinTXID, min; got != want {
			t.Errorf("file %d: min TXID got %s, want %s", i, got, want)
		}
		if got, want := info.Size, int64(len(files[min])); got != want {
			t.Errorf("file %d: size got %d, want %d (plaintext)", i, got, want)
		}
		if got, want := info.CreatedAt, ts.Add(time.Duration(i)*time.Second); !got.Equal(want) {
			t.Errorf("file %d: created got %s, want %s", i, got, want)
		}
	}
	if itr, err = c.LTXFiles(ctx, 0, 2, false); err != nil {
		t.Fatal(err)
	} else if infos, _ := ltx.SliceFileIterator(itr); len(infos) != 2 {
		t.Errorf("listed from seek 2: got %d files, want 2", len(infos))
	}

	big := files[3]
	for _, r := range []struct{ off, size int64 }{
		{0, 0}, {0, 100}, {5, 10}, {keys.BackupPartSize - 3, 7}, {keys.BackupPartSize, keys.BackupPartSize},
		{2*keys.BackupPartSize + 1, 0}, {int64(len(big)) - 1, 0}, {int64(len(big)) - 10, 100},
	} {
		got, err := readRange(t, c, 0, 3, 5, r.off, r.size)
		if err != nil {
			t.Fatalf("range %d+%d: %v", r.off, r.size, err)
		}
		end := int64(len(big))
		if r.size > 0 {
			end = min(r.off+r.size, end)
		}
		if want := big[r.off:end]; !bytes.Equal(got, want) {
			t.Errorf("range %d+%d: got %d bytes, want %d equal bytes", r.off, r.size, len(got), len(want))
		}
	}
	if _, err := c.OpenLTXFile(ctx, 0, 9, 9, 0, 0); !isNotExist(err) {
		t.Errorf("open missing: got %v, want os.ErrNotExist", err)
	}

	// Nothing of the plaintext appears in the stored bytes.
	var stored []byte
	store.List(ctx, "", func(bi vault.BlobInfo) error {
		rc, _ := store.Get(ctx, bi.Key, 0, -1)
		b, _ := io.ReadAll(rc)
		rc.Close()
		stored = append(stored, b...)
		return nil
	})
	if bytes.Contains(stored, big[200:232]) {
		t.Error("a stored object contains plaintext")
	}

	if err := c.DeleteLTXFiles(ctx, infos[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := readRange(t, c, 0, 1, 1, 0, 0); !isNotExist(err) {
		t.Errorf("open deleted: got %v, want os.ErrNotExist", err)
	}
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

func TestClient_Tampered(t *testing.T) {
	ctx := context.Background()
	store, dir := newStore(t)
	kdir := t.TempDir()
	key := newKey(t, kdir, "us")
	c, _ := backup.NewClient(store, key, backup.DBMetadata, "")
	ts := time.Now()
	file := ltxFile(t, 1, 2, ts, 2*keys.BackupPartSize)
	if _, err := c.WriteLTXFile(ctx, 0, 1, 2, bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	var objKey string
	store.List(ctx, "", func(bi vault.BlobInfo) error { objKey = bi.Key; return nil })
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(objKey)))
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, b []byte) {
		t.Helper()
		if _, err := store.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Renamed", func(t *testing.T) {
		// The same bytes under another range, level or database.
		put("casevault/0/0000000000000003-0000000000000004-"+objKey[len(objKey)-13:], raw)
		if _, err := readRange(t, c, 0, 3, 4, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("other range: got %v, want cannot_decrypt", err)
		}
		put("audit/0/"+objKey[len("casevault/0/"):], raw)
		a, _ := backup.NewClient(store, key, backup.DBAudit, "")
		if _, err := readRange(t, a, 0, 1, 2, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("other database: got %v, want cannot_decrypt", err)
		}
		put("casevault/1/"+objKey[len("casevault/0/"):], raw)
		if _, err := readRange(t, c, 1, 1, 2, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("other level: got %v, want cannot_decrypt", err)
		}
		// Another time in the name.
		put(objKey[:len(objKey)-13]+"9999999999999", raw)
		if _, err := readRange(t, c, 0, 1, 2, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("other time: got %v, want cannot_decrypt", err)
		}
		store.Delete(ctx, objKey[:len(objKey)-13]+"9999999999999")
		// Another region's key, same store and name.
		ca, _ := backup.NewClient(store, newKey(t, kdir, "ca"), backup.DBMetadata, "")
		if _, err := readRange(t, ca, 0, 1, 2, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("other region: got %v, want cannot_decrypt", err)
		}
	})
	t.Run("ByteFlipped", func(t *testing.T) {
		b := bytes.Clone(raw)
		b[len(b)-100] ^= 1 // in the last part
		put(objKey, b)
		if _, err := readRange(t, c, 0, 1, 2, 0, 10); err != nil {
			t.Errorf("first part, untouched: %v", err)
		}
		if _, err := readRange(t, c, 0, 1, 2, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("whole: got %v, want cannot_decrypt", err)
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		put(objKey, raw[:len(raw)-keys.BackupPartSize/2])
		if _, err := readRange(t, c, 0, 1, 2, 0, 0); !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("got %v, want cannot_decrypt", err)
		}
	})
}
