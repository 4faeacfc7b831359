package blobtest

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/casevault/casevault/vault"
)

func mustPut(tb testing.TB, s vault.BlobStore, key string, data []byte) {
	tb.Helper()
	n, err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		tb.Fatalf("Put(%q) = %d, want %d", key, n, len(data))
	}
}

func mustGet(tb testing.TB, s vault.BlobStore, key string, offset, length int64) []byte {
	tb.Helper()
	rc, err := s.Get(context.Background(), key, offset, length)
	if err != nil {
		tb.Fatalf("Get(%q, %d, %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("reading Get(%q, %d, %d): %v", key, offset, length, err)
	}
	return b
}

func mustStat(tb testing.TB, s vault.BlobStore, key string) vault.BlobInfo {
	tb.Helper()
	info, err := s.Stat(context.Background(), key)
	if err != nil {
		tb.Fatalf("Stat(%q): %v", key, err)
	}
	return info
}

// wantMissing checks that key is invisible to Stat, Get and List.
func wantMissing(tb testing.TB, s vault.BlobStore, key string) {
	tb.Helper()
	ctx := context.Background()
	_, err := s.Stat(ctx, key)
	wantCode(tb, err, vault.ENOTFOUND, "Stat("+key+")")
	rc, err := s.Get(ctx, key, 0, -1)
	if err == nil {
		rc.Close()
	}
	wantCode(tb, err, vault.ENOTFOUND, "Get("+key+")")
	err = s.List(ctx, key, func(bi vault.BlobInfo) error {
		if bi.Key == key {
			tb.Errorf("List(%q) lists %q, want it absent", key, bi.Key)
		}
		return nil
	})
	if err != nil {
		tb.Errorf("List(%q): %v", key, err)
	}
}

func wantCode(tb testing.TB, err error, code, what string) {
	tb.Helper()
	if got := vault.ErrorCode(err); got != code {
		tb.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}
