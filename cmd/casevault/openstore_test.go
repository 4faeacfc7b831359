package main

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/config"
	"github.com/casevault/casevault/vault/mirror"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestOpenStore_OneSiteDown: a mirrored region opens with one site out of
// reach (that site late), and fails to open with both out of reach or
// with an unmirrored store out of reach.
func TestOpenStore_OneSiteDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	no := false
	c := config.Default()
	c.DataDir = t.TempDir()
	down := config.RegionConfig{Type: config.StoreS3, Endpoint: closedPort(t), Bucket: "docs", AccessKey: "a", SecretKey: "s", Secure: &no}
	fsMirror := &config.MirrorConfig{Type: config.StoreFS, Path: filepath.Join(t.TempDir(), "mirror")}
	downMirror := &config.MirrorConfig{Type: config.StoreS3, Endpoint: closedPort(t), Bucket: "mirror", AccessKey: "a", SecretKey: "s", Secure: &no}

	rc := down
	rc.Mirror = fsMirror
	st, err := openStore(ctx, &c, "us", rc, zerolog.Nop())
	if err != nil {
		t.Fatalf("primary down, mirror up: %v", err)
	}
	ms, ok := st.(*mirror.Store)
	if !ok {
		t.Fatalf("primary down, mirror up: got %T, want *mirror.Store", st)
	}
	if late, ok := ms.Primary().(*mirror.Late); !ok || late.Open() {
		t.Errorf("primary down: got %T, want a *mirror.Late not open", ms.Primary())
	}
	if err := ms.PingMirror(ctx); err != nil {
		t.Errorf("mirror up: ping: %v", err)
	}

	rc = config.RegionConfig{Type: config.StoreFS, Mirror: downMirror}
	st, err = openStore(ctx, &c, "us", rc, zerolog.Nop())
	if err != nil {
		t.Fatalf("primary up, mirror down: %v", err)
	}
	if _, ok := st.(*mirror.Store).Mirror().(*mirror.Late); !ok {
		t.Errorf("mirror down: got %T, want a *mirror.Late", st.(*mirror.Store).Mirror())
	}

	rc = down
	rc.Mirror = downMirror
	if _, err := openStore(ctx, &c, "us", rc, zerolog.Nop()); err == nil {
		t.Errorf("both sites down: got no error")
	}
	if _, err := openStore(ctx, &c, "us", down, zerolog.Nop()); err == nil {
		t.Errorf("an unmirrored store down: got no error")
	}
}
