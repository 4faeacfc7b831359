package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/blobtest"
	"github.com/casevault/casevault/vault/s3"
	"github.com/casevault/casevault/vault/s3/s3test"
)

// One MinIO and one versitygw for the whole package, started on first use.
func TestMain(m *testing.M) { os.Exit(s3test.Run(m)) }

var kinds = []string{s3test.KindMinIO, s3test.KindVersity}

func TestStore(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			srv := s3test.Shared(t, kind)
			st := srv.NewStore(t, "blobtest")
			blobtest.TestStore(t, func(t *testing.T) vault.BlobStore { return st })
			// Every failed multipart upload of the suite must have been aborted.
			wantNoUploads(t, st)
		})
	}
}

func wantNoUploads(tb testing.TB, st *s3.Store) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for up := range st.Client().ListIncompleteUploads(ctx, st.Bucket(), "", true) {
		if up.Err != nil {
			tb.Fatalf("ListIncompleteUploads: %v", up.Err)
		}
		tb.Errorf("dangling multipart upload of %q (id %s)", up.Key, up.UploadID)
	}
}

func TestStore_Ping(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			st := s3test.Shared(t, kind).NewStore(t, "ping")
			ctx := context.Background()
			if err := st.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			// The ping object is gone, and would not be listed anyway.
			n := 0
			for obj := range st.Client().ListObjectsIter(ctx, st.Bucket(), minio.ListObjectsOptions{Recursive: true}) {
				if obj.Err != nil {
					t.Fatal(obj.Err)
				}
				n++
			}
			if n != 0 {
				t.Errorf("bucket holds %d objects after Ping, want 0", n)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		endpoint string
		want     bool
	}{
		{"127.0.0.1:9000", true},
		{"127.0.0.1", true},
		{"127.4.5.6:80", true},
		{"[::1]:9000", true},
		{"::1", true},
		{"localhost", true},
		{"LocalHost:9000", true},
		{"s3.amazonaws.com", false},
		{"10.0.0.1:9000", false},
		{"192.168.1.10", false},
		{"[2001:db8::1]:9000", false},
		{"0.0.0.0:9000", false},
		{"localhost.example.com", false},
		{"127.0.0.1.nip.io", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := s3.IsLoopback(tt.endpoint); got != tt.want {
			t.Errorf("IsLoopback(%q) = %t, want %t", tt.endpoint, got, tt.want)
		}
	}
}

func TestNew_ErrInvalid(t *testing.T) {
	ok := s3.Config{Endpoint: "127.0.0.1:1", Bucket: "bkt", AccessKey: "a", SecretKey: "s"}
	tests := []struct {
		name string
		edit func(*s3.Config)
	}{
		{"PlainHTTPToHost", func(c *s3.Config) { c.Endpoint = "s3.ca-central-1.amazonaws.com" }},
		{"PlainHTTPToPrivateIP", func(c *s3.Config) { c.Endpoint = "10.1.2.3:9000" }},
		{"PlainHTTPToIPv6", func(c *s3.Config) { c.Endpoint = "[2001:db8::1]:9000" }},
		{"PlainHTTPToAnyAddress", func(c *s3.Config) { c.Endpoint = "0.0.0.0:9000" }},
		{"Scheme", func(c *s3.Config) { c.Endpoint = "http://127.0.0.1:9000" }},
		{"Path", func(c *s3.Config) { c.Endpoint = "127.0.0.1:9000/bucket" }},
		{"NoEndpoint", func(c *s3.Config) { c.Endpoint = "" }},
		{"NoBucket", func(c *s3.Config) { c.Bucket = "" }},
		{"BadBucket", func(c *s3.Config) { c.Bucket = "Not_A_Bucket" }},
		{"NoAccessKey", func(c *s3.Config) { c.AccessKey = "" }},
		{"NoSecretKey", func(c *s3.Config) { c.SecretKey = "" }},
		{"PartSizeTooSmall", func(c *s3.Config) { c.PartSize = 1 << 20 }},
		{"PartSizeTooBig", func(c *s3.Config) { c.PartSize = 6 << 30 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			// Refused before any connection: the endpoints do not exist.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := s3.New(ctx, cfg)
			if got, want := vault.ErrorCode(err), vault.EINVALID; got != want {
				t.Errorf("New = %v (code %q), want code %q", err, got, want)
			}
		})
	}
	t.Run("SecureToHostIsFine", func(t *testing.T) {
		// No server there; the point is that validation lets it through.
		cfg := ok
		cfg.Endpoint, cfg.Secure = "127.0.0.1:1", true
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s3.New(ctx, cfg)
		if got := vault.ErrorCode(err); got != vault.EUNAVAILABLE {
			t.Errorf("New = %v (code %q), want code %q", err, got, vault.EUNAVAILABLE)
		}
	})
}

func TestNew_ErrUnavailable(t *testing.T) {
	t.Run("NoServer", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := s3.New(ctx, s3.Config{Endpoint: "127.0.0.1:1", Bucket: "bkt", AccessKey: "a", SecretKey: "s"})
		if got := vault.ErrorCode(err); got != vault.EUNAVAILABLE {
			t.Errorf("New = %v (code %q), want code %q", err, got, vault.EUNAVAILABLE)
		}
	})
	for _, kind := range kinds {
		t.Run("BadSecret/"+kind, func(t *testing.T) {
			cfg := s3test.Shared(t, kind).Config(s3test.NewBucketName("creds"))
			cfg.SecretKey = "wrong-secret-key"
			_, err := s3.New(context.Background(), cfg)
			if got := vault.ErrorCode(err); got != vault.EUNAVAILABLE {
				t.Errorf("New = %v (code %q), want code %q", err, got, vault.EUNAVAILABLE)
			}
		})
	}
}

func TestNew_CreateBucket(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			srv := s3test.Shared(t, kind)
			ctx := context.Background()
			cfg := srv.Config(s3test.NewBucketName("create"))

			cfg.CreateBucket = false
			_, err := s3.New(ctx, cfg)
			if got := vault.ErrorCode(err); got != vault.ENOTFOUND {
				t.Fatalf("New without CreateBucket = %v (code %q), want code %q", err, got, vault.ENOTFOUND)
			}

			cfg.CreateBucket = true
			st, err := s3.New(ctx, cfg)
			if err != nil {
				t.Fatalf("New with CreateBucket: %v", err)
			}
			if ok, err := st.Client().BucketExists(ctx, cfg.Bucket); err != nil || !ok {
				t.Fatalf("BucketExists = %t, %v; want true, nil", ok, err)
			}
			if _, err := st.Put(ctx, "k", strings.NewReader("x"), 1); err != nil {
				t.Fatalf("Put: %v", err)
			}

			// Existing bucket: found with or without CreateBucket.
			for _, create := range []bool{true, false} {
				cfg.CreateBucket = create
				if _, err := s3.New(ctx, cfg); err != nil {
					t.Errorf("New on an existing bucket (CreateBucket %t): %v", create, err)
				}
			}
		})
	}
}

// A Put of unknown size must buffer its few fixed stream parts, not
// minio-go's default ~512 MiB. Allocations are a coarse but stable proxy for
// that.
func TestStore_PutUnknownSizeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large upload skipped in -short mode")
	}
	st := s3test.Shared(t, s3test.KindMinIO).NewStore(t, "memory")
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := st.Put(context.Background(), "big", io.LimitReader(rand.NewChaCha8([32]byte{}), size), -1)
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("Put = %d, %v; want %d, nil", n, err, size)
	}
	got, limit := after.TotalAlloc-before.TotalAlloc, uint64((s3.DefaultStreamParts+2)*s3.DefaultPartSize)
	t.Logf("Put of %d MiB of unknown size allocated %.1f MiB", size>>20, float64(got)/(1<<20))
	if got > limit {
		t.Errorf("Put of %d MiB of unknown size allocated %d MiB, want at most %d MiB", size>>20, got>>20, limit>>20)
	}
}

// gatedReader yields n pseudo-random bytes, but after the first `open`
// bytes blocks until gate is closed (never, with a nil gate). started is closed on the first Read,
// at which time firstRead is set.
type gatedReader struct {
	r         io.Reader
	open      int64
	gate      chan struct{}
	started   chan struct{}
	once      sync.Once
	firstRead time.Time
}

func newGatedReader(seed byte, n, open int64, gate chan struct{}) *gatedReader {
	return &gatedReader{r: io.LimitReader(rand.NewChaCha8([32]byte{seed}), n), open: open, gate: gate, started: make(chan struct{})}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.once.Do(func() { g.firstRead = time.Now(); close(g.started) })
	if g.open <= 0 && g.gate != nil {
		<-g.gate
	} else if g.open > 0 && int64(len(p)) > g.open {
		p = p[:g.open]
	}
	n, err := g.r.Read(p)
	g.open -= int64(n)
	return n, err
}

// Uploads beyond the store's UploadMemory wait for earlier ones without
// reading a byte, give up cleanly when their context ends, and go on once
// memory is free; uploads that buffer nothing never wait.
func TestStore_UploadMemoryQueues(t *testing.T) {
	srv := s3test.Shared(t, s3test.KindMinIO)
	ctx := context.Background()
	cfg := srv.Config(s3test.NewBucketName("queue"))
	cfg.PartSize, cfg.StreamParts = 5<<20, 2
	cfg.UploadMemory = 10 << 20 // one upload of unknown size at a time
	st, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const size = 12 << 20 // three parts
	put := func(ctx context.Context, key string, r io.Reader, n int64) chan error {
		done := make(chan error, 1)
		go func() {
			got, err := st.Put(ctx, key, r, n)
			if err == nil && got != size {
				err = fmt.Errorf("stored %d bytes, want %d", got, size)
			}
			done <- err
		}()
		return done
	}

	// A takes all the memory and holds it until released.
	release := make(chan struct{})
	a := newGatedReader(1, size, 1<<20, release)
	aDone := put(ctx, "a", a, -1)
	<-a.started

	// An object small enough for one PUT buffers nothing: it goes at once.
	if _, err := st.Put(ctx, "small", strings.NewReader("tiny"), 4); err != nil {
		t.Fatalf("small Put while memory is taken: %v", err)
	}

	// B waits, and gives up when its context ends: nothing read, nothing
	// stored, unavailable.
	bctx, cancel := context.WithCancel(ctx)
	b := newGatedReader(2, size, size, nil)
	bDone := put(bctx, "b", b, -1)
	// C waits too, and must not start before A ends.
	c := newGatedReader(3, size, size, nil)
	cDone := put(ctx, "c", c, -1)
	time.Sleep(200 * time.Millisecond) // let B and C reach the wait
	cancel()
	if err := <-bDone; vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("cancelled waiting Put = %v, want unavailable", err)
	}
	select {
	case <-b.started:
		t.Fatal("a Put waiting for memory read its source")
	case <-c.started:
		t.Fatal("a Put started while another held all the upload memory")
	default:
	}
	if _, err := st.Stat(ctx, "b"); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Fatalf("Stat of the cancelled upload = %v, want not_found", err)
	}

	released := time.Now()
	close(release)
	if err := <-aDone; err != nil {
		t.Fatalf("Put a: %v", err)
	}
	if err := <-cDone; err != nil {
		t.Fatalf("Put c: %v", err)
	}
	if c.firstRead.Before(released) {
		t.Fatal("the queued Put read its source before the memory was released")
	}
	for key, seed := range map[string]byte{"a": 1, "c": 3} {
		rc, err := st.Get(ctx, key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want, _ := io.ReadAll(io.LimitReader(rand.NewChaCha8([32]byte{seed}), size))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("object %s: %d bytes, %v; not what was put", key, len(got), err)
		}
	}

	// A Put that needs more than all of the memory still runs, alone.
	cfg.UploadMemory = 1 << 20
	small, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := small.Put(ctx, "big", io.LimitReader(rand.NewChaCha8([32]byte{4}), size), -1); err != nil || n != size {
		t.Fatalf("Put needing more than UploadMemory = %d, %v", n, err)
	}
}
