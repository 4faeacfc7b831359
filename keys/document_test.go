package keys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestManager_EncryptDocument_RoundTrip(t *testing.T) {
	const p = 1000
	f := newFixture(t, keys.WithPartSize(p))
	tenant := f.newTenant(t, "us")
	for _, n := range []int{0, 1, p - 1, p, p + 1, 2 * p, 3*p + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			plain := randBytes(uint64(n), n)
			ref := newRef(tenant)
			blob, s := mustEncrypt(t, f.m, ref, plain)

			wantParts := max(1, (n+p-1)/p)
			if got, want := s.Size, int64(n); got != want {
				t.Errorf("Size = %d, want %d", got, want)
			}
			if got, want := s.CiphertextSize, int64(len(blob)); got != want {
				t.Errorf("CiphertextSize = %d, want %d", got, want)
			}
			if got, want := s.PartSize, p; got != want {
				t.Errorf("PartSize = %d, want %d", got, want)
			}
			if s.PartCipherSize <= p {
				t.Errorf("PartCipherSize = %d, want > %d", s.PartCipherSize, p)
			}
			lo := int64(headerSize + (wantParts-1)*s.PartCipherSize)
			if s.CiphertextSize <= lo || s.CiphertextSize > lo+int64(s.PartCipherSize) {
				t.Errorf("CiphertextSize = %d, want in (%d, %d]", s.CiphertextSize, lo, lo+int64(s.PartCipherSize))
			}
			if bytes.Contains(blob, plain[:min(n, 64)]) && n >= 16 {
				t.Errorf("blob contains plaintext")
			}

			got, err := decrypt(f.m, ref, s, blob, 0, int64(n))
			if err != nil {
				t.Fatalf("DecryptRange: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("round trip: got %d bytes, want %d equal bytes", len(got), n)
			}
		})
	}
}

func TestManager_EncryptDocument_DefaultPartSize(t *testing.T) {
	f := newFixture(t)
	tenant := f.newTenant(t, "ca")
	plain := randBytes(7, 3<<20+5)
	ref := newRef(tenant)
	blob, s := mustEncrypt(t, f.m, ref, plain)
	if got, want := s.PartSize, keys.DefaultPartSize; got != want {
		t.Fatalf("PartSize = %d, want %d", got, want)
	}
	got, err := decrypt(f.m, ref, s, blob, 0, s.Size)
	if err != nil {
		t.Fatalf("DecryptRange: %v", err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("round trip: got %d bytes, want %d equal bytes", len(got), len(plain))
	}
	// A range across the first boundary of 1 MiB parts.
	off, n := int64(1<<20-10), int64(20)
	got, err = decrypt(f.m, ref, s, blob, off, n)
	if err != nil {
		t.Fatalf("DecryptRange(%d, %d): %v", off, n, err)
	}
	if !bytes.Equal(got, plain[off:off+n]) {
		t.Fatalf("DecryptRange(%d, %d) returned the wrong bytes", off, n)
	}
}

func TestManager_DecryptRange(t *testing.T) {
	const p = 1000
	f := newFixture(t, keys.WithPartSize(p))
	ref := newRef(f.newTenant(t, "us"))
	size := int64(3*p + 17)
	plain := randBytes(1, int(size))
	blob, s := mustEncrypt(t, f.m, ref, plain)

	points := []int64{0, 1, p - 1, p, p + 1, 2*p - 1, 2 * p, 2*p + 1, 3*p - 1, 3 * p, size - 1, size}
	lengths := []int64{0, 1, 2, p - 1, p, p + 1, 2*p + 3}
	for _, off := range points {
		for _, n := range append(lengths, size-off) {
			if off+n > size {
				continue
			}
			got, err := decrypt(f.m, ref, s, blob, off, n)
			if err != nil {
				t.Fatalf("DecryptRange(%d, %d): %v", off, n, err)
			}
			if !bytes.Equal(got, plain[off:off+n]) {
				t.Fatalf("DecryptRange(%d, %d): got %d bytes, want %d equal bytes", off, n, len(got), n)
			}
		}
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, r := range [][2]int64{{-1, 1}, {0, -1}, {0, size + 1}, {size, 1}, {size + 1, 0}, {1, size}} {
			_, err := decrypt(f.m, ref, s, blob, r[0], r[1])
			assertCode(t, err, vault.EINVALID)
		}
		bad := ref
		bad.Version = 0
		_, err := decrypt(f.m, bad, s, blob, 0, 1)
		assertCode(t, err, vault.EINVALID)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := decrypt(f.m, newRef("ten_unknown"), s, blob, 0, 1)
		assertCode(t, err, vault.ENOTFOUND)
	})
	t.Run("FetchError", func(t *testing.T) {
		down := func(context.Context, int64, int64) (io.ReadCloser, error) {
			return nil, vault.Errorf(vault.EUNAVAILABLE, "Store down.")
		}
		_, err := decryptWith(f.m, ref, s, down, 0, 1)
		assertCode(t, err, vault.EUNAVAILABLE)
	})
}

// The ciphertext fetched for a range is the header and the parts it
// overlaps, nothing else.
func TestManager_DecryptRange_FetchesOnlyOverlappedParts(t *testing.T) {
	const p = 4096
	f := newFixture(t, keys.WithPartSize(p))
	ref := newRef(f.newTenant(t, "us"))
	plain := randBytes(2, 8*p+100)
	blob, s := mustEncrypt(t, f.m, ref, plain)
	c := int64(s.PartCipherSize)

	for _, tt := range []struct {
		name      string
		off, n    int64
		wantParts int64
	}{
		{"InsideFirstPart", 10, 100, 1},
		{"InsideMiddlePart", 3*p + 1, p - 2, 1},
		{"WholeMiddlePart", 5 * p, p, 1},
		{"StraddlingBoundary", 4*p - 5, 10, 2},
		{"StraddlingFirstBoundary", p - 1, 2, 2},
		{"LastPart", 8*p + 50, 50, 1},
		{"Empty", 6 * p, 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fe := &fetcher{blob: blob}
			got, err := decryptWith(f.m, ref, s, fe.fetch, tt.off, tt.n)
			if err != nil {
				t.Fatalf("DecryptRange: %v", err)
			}
			if !bytes.Equal(got, plain[tt.off:tt.off+tt.n]) {
				t.Fatalf("DecryptRange returned the wrong bytes")
			}
			if max := headerSize + tt.wantParts*c; fe.bytes > max {
				t.Errorf("fetched %d bytes, want at most %d (header and %d parts)", fe.bytes, max, tt.wantParts)
			}
			if got, max := len(fe.calls), 2; got > max {
				t.Errorf("fetch calls = %d, want at most %d", got, max)
			}
			first := tt.off / p
			lo, hi := headerSize+first*c, headerSize+(first+tt.wantParts)*c
			for _, call := range fe.calls {
				inHeader := call[0] == 0 && call[1] <= headerSize
				inParts := call[0] >= lo && call[0]+call[1] <= hi
				fromStart := call[0] == 0 && first == 0 && call[1] <= hi
				if !inHeader && !inParts && !fromStart {
					t.Errorf("fetch(%d, %d) reaches outside header and parts [%d, %d)", call[0], call[1], lo, hi)
				}
			}
		})
	}
}

func TestManager_EncryptDocument_Errors(t *testing.T) {
	f := newFixture(t, keys.WithPartSize(100))
	tenant := f.newTenant(t, "us")

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := f.m.EncryptDocument(context.Background(), newRef("ten_nobody"), bytes.NewReader(nil), io.Discard)
		assertCode(t, err, vault.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, ref := range []vault.DocRef{{}, {TenantID: tenant, Version: 1}, {TenantID: tenant, DocumentID: "doc_x"}} {
			_, err := f.m.EncryptDocument(context.Background(), ref, bytes.NewReader(nil), io.Discard)
			assertCode(t, err, vault.EINVALID)
		}
	})
	t.Run("SourceError", func(t *testing.T) {
		boom := errors.New("boom")
		src := io.MultiReader(bytes.NewReader(make([]byte, 250)), iotestErrReader{boom})
		_, err := f.m.EncryptDocument(context.Background(), newRef(tenant), src, io.Discard)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	})
	t.Run("DestinationError", func(t *testing.T) {
		boom := errors.New("disk full")
		_, err := f.m.EncryptDocument(context.Background(), newRef(tenant), bytes.NewReader(make([]byte, 250)), failWriter{boom})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.m.EncryptDocument(ctx, newRef(tenant), bytes.NewReader(make([]byte, 250)), io.Discard)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want %v", err, context.Canceled)
		}
	})
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// A source that fails with io.ErrUnexpectedEOF (a cut connection) must fail
// the encryption, not end the document early.
func TestEncryptDocument_SourceUnexpectedEOF(t *testing.T) {
	f := newFixture(t, keys.WithPartSize(1000))
	ref := newRef(f.newTenant(t, "us"))
	src := io.MultiReader(bytes.NewReader(make([]byte, 1500)), iotest.ErrReader(io.ErrUnexpectedEOF))
	_, err := f.m.EncryptDocument(context.Background(), ref, src, io.Discard)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("EncryptDocument = %v, want the source's io.ErrUnexpectedEOF", err)
	}
}
