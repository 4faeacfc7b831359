package vault_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// countingStore counts the ciphertext bytes read from a store.
type countingStore struct {
	vault.BlobStore
	read atomic.Int64
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	rc, err := c.BlobStore.Get(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	c.gets.Add(1)
	return &countingReadCloser{rc, &c.read}, nil
}

type countingReadCloser struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingReadCloser) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestService_RangeFetchesOnlyItsParts(t *testing.T) {
	e := newEnv(t, nil)
	cs := &countingStore{BlobStore: e.Stores["us"]}
	e.Svc.Regions["us"] = cs
	tenant, owner := e.firm(t, "Firm", "us")
	m := e.matter(t, owner, "M")
	const size = 40 << 20
	d, err := e.Svc.PutDocument(context.Background(), owner, vault.NewDocument{MatterID: m.ID, Name: "big.bin"}, vaulttest.NewGen(1, size), size)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.DB.Version(context.Background(), tenant.ID, d.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{30 << 20, 30<<20 + 12345} {
		cs.read.Store(0)
		got, err := e.read(t, owner, d.ID, 0, off, 1<<20)
		if err != nil || len(got) != 1<<20 {
			t.Fatalf("range at %d: %d bytes, %v", off, len(got), err)
		}
		// Compare with the generator's bytes at that offset.
		g := vaulttest.NewGen(1, size)
		io.CopyN(io.Discard, g, off)
		exp := make([]byte, 1<<20)
		io.ReadFull(g, exp)
		if string(got) != string(exp) {
			t.Fatalf("range at %d: wrong bytes", off)
		}
		parts := (cs.read.Load() + int64(v.PartCipherSize) - 1) / int64(v.PartCipherSize)
		t.Logf("1 MiB at offset %d fetched %d ciphertext bytes (%d parts of %d)", off, cs.read.Load(), parts, v.PartCipherSize)
		if limit := 2*int64(v.PartCipherSize) + 64; cs.read.Load() > limit {
			t.Fatalf("1 MiB at offset %d fetched %d ciphertext bytes, want at most 2 parts (%d)", off, cs.read.Load(), limit)
		}
	}
}

// TestService_TamperedBlob flips one byte of stored ciphertext at random
// positions: every read that covers it fails closed.
func TestService_TamperedBlob(t *testing.T) {
	e := newEnv(t, nil)
	tenant, owner := e.firm(t, "Firm", "us")
	m := e.matter(t, owner, "M")
	content := random(8, 3<<20+99)
	d := e.put(t, owner, m.ID, "evidence.pdf", content)
	v, err := e.DB.Version(context.Background(), tenant.ID, d.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.Dir, "regions", "us", filepath.FromSlash(v.BlobKey))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("blob file: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		pos := r.IntN(len(orig))
		bad := append([]byte(nil), orig...)
		bad[pos] ^= 1 << r.IntN(8)
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := e.read(t, owner, d.ID, 0, 0, -1)
		if vault.ErrorCode(err) != vault.ECANNOTDECRYPT {
			t.Fatalf("flip at byte %d: read %d bytes, err %v; want cannot_decrypt", pos, len(got), err)
		}
		// What was released before the failure is authentic, never the
		// tampered part.
		if string(got) != string(content[:len(got)]) {
			t.Fatalf("flip at byte %d: released bytes differ from the original", pos)
		}
	}
	// Truncated blob.
	if err := os.WriteFile(path, orig[:len(orig)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = e.read(t, owner, d.ID, 0, 0, -1)
	wantCode(t, err, vault.ECANNOTDECRYPT)
}
