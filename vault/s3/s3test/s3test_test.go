package s3test_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/casevault/casevault/vault/s3/s3test"
)

func TestStart(t *testing.T) {
	for _, kind := range []string{s3test.KindMinIO, s3test.KindVersity} {
		t.Run(kind, func(t *testing.T) {
			if _, err := s3test.Lookup(kind); errors.Is(err, s3test.ErrNotInstalled) && os.Getenv("CI") == "" {
				t.Skip(err)
			}
			srv, err := s3test.Start(kind)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if !strings.HasPrefix(srv.Endpoint, "127.0.0.1:") {
				t.Errorf("Endpoint = %q, want 127.0.0.1:PORT", srv.Endpoint)
			}
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			bucket := s3test.NewBucketName(t.Name())
			if err := c.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
				t.Fatalf("MakeBucket: %v\n%s", err, srv.Log())
			}

			pid := serverPID(t, srv)
			if err := srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("server pid %d after Close: kill(0) = %v, want ESRCH", pid, err)
			}
			if err := srv.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// serverPID finds the server's process by the port it listens on.
func serverPID(t *testing.T, srv *s3test.Server) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), srv.Endpoint) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(filepath.Base(filepath.Dir(p)), &pid); err == nil {
			return pid
		}
	}
	t.Fatalf("no process listens on %s", srv.Endpoint)
	return 0
}

func TestNewBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	seen := map[string]bool{}
	for _, prefix := range []string{"", "x", "TestStore/minio", strings.Repeat("long-", 30), "--a--"} {
		name := s3test.NewBucketName(prefix)
		if !valid.MatchString(name) || s3utils.CheckValidBucketNameStrict(name) != nil {
			t.Errorf("NewBucketName(%q) = %q, not a valid bucket name", prefix, name)
		}
		if seen[name] {
			t.Errorf("NewBucketName(%q) = %q twice", prefix, name)
		}
		seen[name] = true
	}
}

func TestLookup(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("HOME", empty)
	t.Setenv("PATH", empty)
	t.Setenv("CASEVAULT_TOOLS", "")
	t.Setenv("CASEVAULT_MINIO", "")

	_, err := s3test.Lookup(s3test.KindMinIO)
	if !errors.Is(err, s3test.ErrNotInstalled) {
		t.Errorf("Lookup with no binary anywhere = %v, want ErrNotInstalled", err)
	}

	tools := t.TempDir()
	bin := filepath.Join(tools, "minio")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CASEVAULT_TOOLS", tools)
	if got, err := s3test.Lookup(s3test.KindMinIO); err != nil || got != bin {
		t.Errorf("Lookup via CASEVAULT_TOOLS = %q, %v; want %q, nil", got, err, bin)
	}

	t.Setenv("CASEVAULT_MINIO", filepath.Join(empty, "nope"))
	_, err = s3test.Lookup(s3test.KindMinIO)
	if err == nil || errors.Is(err, s3test.ErrNotInstalled) {
		t.Errorf("Lookup with CASEVAULT_MINIO naming a missing file = %v, want an error other than ErrNotInstalled", err)
	}
}
