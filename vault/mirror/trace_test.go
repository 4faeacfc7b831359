package mirror_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/mirror"
)

// TestStore_RepairDirection: a read the mirror served (the primary was
// down), whose part failed to authenticate there, is re-read from the
// primary and repairs the mirror from it — also when, by then, the primary
// is read first again. Before reads were traced, both went by the order
// Get would read in at that moment, and so read the damaged copy again
// and copied it over the good one.
func TestStore_RepairDirection(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, m := newSite(t, "primary"), newSite(t, "mirror")
	s := mirror.New(p, m, mirror.Options{Required: true, Log: zerolog.Nop(), RetryAfter: time.Hour, Now: clock})
	good := randomBytes(t, 1<<20)
	const key = "t1/doc"
	if _, err := s.Put(ctx, key, bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(good)
	damaged[4096] ^= 1
	if _, err := m.ChecksumStore.Put(ctx, key, bytes.NewReader(damaged), int64(len(damaged))); err != nil {
		t.Fatal(err)
	}

	// The primary is down: the read is served, and traced, by the mirror.
	p.down.Store(true)
	traced := vault.WithReadTrace(ctx, &vault.ReadTrace{})
	rc, err := s.Get(traced, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, damaged) {
		t.Fatalf("read through the mirror: err %v, damaged copy %v; want the mirror's copy", err, bytes.Equal(got, damaged))
	}
	if site, ok := vault.ReadTraceFrom(traced).Site(); !ok || site != 1 {
		t.Fatalf("traced site = %d, %v; want 1 (the mirror)", site, ok)
	}

	// The primary is back, and read first again.
	p.down.Store(false)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	alt, err := s.GetAlternate(traced, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(alt)
	alt.Close()
	if err != nil || !bytes.Equal(got, good) {
		t.Fatalf("GetAlternate: err %v, good copy %v; want the primary's good copy", err, bytes.Equal(got, good))
	}
	// Another part of the same read, served by the primary meanwhile,
	// changes the trace: the repair still copies from the copy that
	// authenticated, the one GetAlternate read.
	vault.ReadTraceFrom(traced).Note(0)
	s.RepairFromAlternate(traced, key)
	s.Wait()
	if got := read(t, p, key, 0, -1); !bytes.Equal(got, good) {
		t.Error("the primary's good copy was overwritten by the repair")
	}
	if got := read(t, m, key, 0, -1); !bytes.Equal(got, good) {
		t.Error("the mirror's damaged copy was not repaired from the primary")
	}
}
