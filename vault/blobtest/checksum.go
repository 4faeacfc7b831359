package blobtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// testChecksum checks a vault.ChecksumStore's PutChecked and Checksum (the
// subtest is skipped for a store without them): the checksum PutChecked
// returns and the one Checksum returns are those of the bytes put, for an
// empty object, a small one (one request) and one of several parts (S3);
// a size mismatch still fails and stores nothing.
func testChecksum(t *testing.T, s vault.BlobStore, p string) {
	cs, ok := s.(vault.ChecksumStore)
	if !ok {
		t.Skip("the store is no vault.ChecksumStore")
	}
	ctx := context.Background()
	sizes := []int64{0, 1000, 21*MiB + 77}
	if testing.Short() {
		sizes = sizes[:2]
	}
	for _, size := range sizes {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/KnownSize=%t", size, known), func(t *testing.T) {
				key := fmt.Sprintf("%s/sum-%d-%t", p, size, known)
				want := vault.NewBlobChecksum()
				want.Write(genBytes(3, 0, size))
				announced := size
				if !known {
					announced = -1
				}
				n, sum, err := cs.PutChecked(ctx, key, newGen(3, size), announced)
				if err != nil {
					t.Fatalf("PutChecked: %v", err)
				}
				if n != size || sum != want.Sum64() {
					t.Errorf("PutChecked = %d bytes, checksum %016x; want %d, %016x", n, sum, size, want.Sum64())
				}
				info, sum, ok, err := cs.Checksum(ctx, key)
				if err != nil || (known && !ok) {
					t.Fatalf("Checksum = %v, %v; want one", ok, err)
				}
				// Of an object put with its size unknown, a store may keep
				// none; if it has one, it is the right one.
				if info.Size != size || ok && sum != want.Sum64() {
					t.Errorf("Checksum = %d bytes, %016x; want %d, %016x", info.Size, sum, size, want.Sum64())
				}
			})
		}
	}
	t.Run("SizeMismatch", func(t *testing.T) {
		key := p + "/sum-short"
		_, _, err := cs.PutChecked(ctx, key, strings.NewReader("four"), 5)
		wantCode(t, err, vault.EINVALID, "PutChecked of 4 bytes announced as 5")
		wantMissing(t, s, key)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, _, err := cs.Checksum(ctx, p+"/sum-missing")
		wantCode(t, err, vault.ENOTFOUND, "Checksum of a missing key")
	})
	t.Run("WithoutPutChecked", func(t *testing.T) {
		// A store may keep no checksum of an object Put stored; if it
		// says it has one, it is the right one.
		key := p + "/sum-plain"
		mustPut(t, s, key, []byte("plain put"))
		want := vault.NewBlobChecksum()
		want.Write([]byte("plain put"))
		_, sum, ok, err := cs.Checksum(ctx, key)
		if err != nil {
			t.Fatalf("Checksum: %v", err)
		}
		if ok && sum != want.Sum64() {
			t.Errorf("Checksum of a Put object = %016x, want none or %016x", sum, want.Sum64())
		}
	})
}
