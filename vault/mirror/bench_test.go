package mirror_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/mirror"
	"github.com/casevault/casevault/vault/vaulttest"
)

// discardStore is a store that reads and drops every byte: what the
// fan-out itself costs, without any site's own work.
type discardStore struct{ vault.BlobStore }

func (discardStore) Put(_ context.Context, _ string, r io.Reader, _ int64) (int64, error) {
	return io.Copy(io.Discard, r)
}

// BenchmarkPut_FanOut measures Put of 64 MiB into one site alone and
// through the fan-out into two, with sites that only read: the cost of the
// fan-out (one chunk buffer, two pipes) against a plain copy.
func BenchmarkPut_FanOut(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store vault.BlobStore
	}{
		{"single", discardStore{}},
		{"mirrored", mirrorOf(discardStore{}, discardStore{})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				if _, err := tc.store.Put(ctx, fmt.Sprintf("t1/b%d", i), vaulttest.NewGen(byte(i), size), -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func mirrorOf(p, m vault.BlobStore) vault.BlobStore {
	return mirror.New(p, m, mirror.Options{Required: true, Log: zerolog.Nop()})
}
