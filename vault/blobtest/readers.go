package blobtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"testing"
)

// errSource is what failingReader fails with; Put must wrap it.
var errSource = errors.New("blobtest: source failed")

// genReader yields size pseudo-random bytes from a seeded ChaCha8 stream, so
// the suite can store objects far larger than it keeps in memory, and hashes
// them as they go.
type genReader struct {
	rng  *rand.ChaCha8
	left int64
	h    hash.Hash
}

func newGen(seed byte, size int64) *genReader {
	var s [32]byte
	s[0] = seed
	return &genReader{rng: rand.NewChaCha8(s), left: size, h: sha256.New()}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.rng.Read(p)
	g.h.Write(p[:n])
	g.left -= int64(n)
	return n, nil
}

// sum returns the SHA-256 of the bytes yielded so far.
func (g *genReader) sum() [sha256.Size]byte {
	var s [sha256.Size]byte
	g.h.Sum(s[:0])
	return s
}

// genBytes returns bytes [offset, offset+n) of the stream newGen(seed, …)
// yields.
func genBytes(seed byte, offset, n int64) []byte {
	g := newGen(seed, offset+n)
	if _, err := io.CopyN(io.Discard, g, offset); err != nil {
		panic(err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(g, b); err != nil {
		panic(err)
	}
	return b
}

// failingReader yields n bytes of r, then fails with errSource.
type failingReader struct {
	r io.Reader
	n int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errSource
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// cancellingReader cancels a context once n bytes have been read from it,
// and keeps yielding data: only the store's attention to ctx stops the Put.
type cancellingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// hashReader reads rc to the end and returns the SHA-256 and byte count.
func hashReader(tb testing.TB, rc io.ReadCloser) ([sha256.Size]byte, int64) {
	tb.Helper()
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		tb.Fatalf("reading object: %v", err)
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s, n
}
