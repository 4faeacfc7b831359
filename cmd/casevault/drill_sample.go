package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// sampleVersions decrypts up to n of a firm's versions (chosen at random
// among those whose blob is present) end to end: every part is fetched
// from the region's store and authenticated with the restored cell's
// keysets (km), and the plaintext, counted and discarded as it comes, must
// be exactly the version's recorded size. Nothing is written anywhere. It
// adds what it found to f.
func sampleVersions(ctx context.Context, km *keys.Manager, store vault.BlobStore, vs []*vault.Version, n int, f *firmRestore) {
	for _, i := range rand.Perm(len(vs))[:min(n, len(vs))] {
		v := vs[i]
		f.Sampled++
		got, err := decryptVersion(ctx, km, store, f.Tenant, v)
		f.SampledBytes += got
		switch {
		case err != nil:
			f.SampleFailures = append(f.SampleFailures, fmt.Sprintf("%s/%d: %s", v.DocumentID, v.Number, vault.ErrorCode(err)))
		case got != v.Size:
			f.SampleFailures = append(f.SampleFailures, fmt.Sprintf("%s/%d: %d bytes, want %d", v.DocumentID, v.Number, got, v.Size))
		}
	}
}

// decryptVersion reads version v of firm tenant whole and returns how many
// plaintext bytes it yielded.
func decryptVersion(ctx context.Context, km *keys.Manager, store vault.BlobStore, tenant string, v *vault.Version) (int64, error) {
	ref := vault.DocRef{TenantID: tenant, DocumentID: v.DocumentID, Version: v.Number}
	rc, err := km.DecryptRange(ctx, ref, v.Sealed, 0, v.Size, func(ctx context.Context, off, length int64) (io.ReadCloser, error) {
		return store.Get(ctx, v.BlobKey, off, length)
	})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
