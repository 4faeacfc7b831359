package keys_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/casevault/casevault/vault"
)

const benchSize = 16 << 20

func BenchmarkManager_EncryptDocument(b *testing.B) {
	f := newFixture(b)
	ref := newRef(f.newTenant(b, "us"))
	plain := randBytes(1, benchSize)
	ctx := context.Background()
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.m.EncryptDocument(ctx, ref, bytes.NewReader(plain), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkManager_DecryptRange(b *testing.B) {
	f := newFixture(b)
	ref := newRef(f.newTenant(b, "us"))
	blob, s := mustEncrypt(b, f.m, ref, randBytes(1, benchSize))
	fetch := func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob[off : off+n])), nil
	}
	ctx := context.Background()
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := f.m.DecryptRange(ctx, ref, s, 0, s.Size, vault.RangeFetcher(fetch))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, rc); err != nil || n != benchSize {
			b.Fatalf("read %d bytes, %v", n, err)
		}
		rc.Close()
	}
}

// A 1 KiB range read from the middle of a large document: the cost of
// serving a byte-range request.
func BenchmarkManager_DecryptRangeSmall(b *testing.B) {
	f := newFixture(b)
	ref := newRef(f.newTenant(b, "us"))
	blob, s := mustEncrypt(b, f.m, ref, randBytes(1, benchSize))
	fetch := func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob[off : off+n])), nil
	}
	ctx := context.Background()
	b.SetBytes(1024)
	for b.Loop() {
		rc, err := f.m.DecryptRange(ctx, ref, s, benchSize/2+100, 1024, fetch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
