package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/mirror"
)

// refused is what opening an unreachable S3 site returns: unavailable,
// caused by a network error.
func refused() error {
	return vault.WrapError(vault.EUNAVAILABLE, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, "Cannot reach the S3 bucket.")
}

func TestUnreachable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{refused(), true},
		{vault.Errorf(vault.EUNAVAILABLE, "Access denied."), false}, // credentials: a configuration error
		{vault.Errorf(vault.ENOTFOUND, "No bucket."), false},
	} {
		if got := mirror.Unreachable(c.err); got != c.want {
			t.Errorf("Unreachable(%v): got %v, want %v", c.err, got, c.want)
		}
	}
}

// TestLate_PrimaryOpensLater: a region whose primary could not be opened
// reads from the mirror, refuses required uploads with unavailable, and
// uses the primary once a background try opens it.
func TestLate_PrimaryOpensLater(t *testing.T) {
	defer mirror.SetReopenEvery(20 * time.Millisecond)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, m := newSite(t, "primary"), newSite(t, "mirror")
	body := []byte("ciphertext")
	if _, err := m.Put(ctx, "t/k", bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	var reachable atomic.Bool
	var tries atomic.Int64
	late := mirror.NewLate(ctx, "primary", refused(), func(context.Context) (vault.BlobStore, error) {
		tries.Add(1)
		if !reachable.Load() {
			return nil, refused()
		}
		return p, nil
	}, zerolog.Nop())
	s := mirror.New(late, m, mirror.Options{Required: true, Log: zerolog.Nop(), RetryAfter: time.Millisecond})

	rc, err := s.Get(ctx, "t/k", 0, -1)
	if err != nil {
		t.Fatalf("Get with the primary late: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body) {
		t.Errorf("Get with the primary late: got %q, want %q", got, body)
	}
	if _, err := s.Put(ctx, "t/new", bytes.NewReader(body), int64(len(body))); !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Errorf("required Put with the primary late: got %v, want unavailable", err)
	}
	if err := s.Ping(ctx); !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Errorf("Ping with the primary late: got %v, want unavailable", err)
	}

	reachable.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for !late.Open() {
		if time.Now().After(deadline) {
			t.Fatalf("the primary did not open after %d tries", tries.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Put(ctx, "t/new", bytes.NewReader(body), int64(len(body))); err != nil {
		t.Errorf("Put once the primary opened: %v", err)
	}
	if _, err := p.Stat(ctx, "t/new"); err != nil {
		t.Errorf("the primary after the Put: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping once the primary opened: %v", err)
	}
}
