package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// proxyEnv, when set in the environment of this test binary, makes it run
// as a pass-through proxy instead of running tests (see passThrough).
const proxyEnv = "CASEVAULT_BENCH_PASSTHROUGH"

// passThroughMain serves GET /{key} by streaming that object of MinIO to the
// client with nothing in between: no authentication, no audit, no
// decryption. It is the cheapest server a download can go through, the
// ceiling for what any server in the path can reach against a raw
// GetObject. Configured by proxyEnv ("endpoint bucket access secret");
// prints "passthrough on URL" and serves until SIGTERM.
func passThroughMain() int {
	f := strings.Fields(os.Getenv(proxyEnv))
	if len(f) != 4 {
		fmt.Fprintln(os.Stderr, proxyEnv, "wants: endpoint bucket access secret")
		return 2
	}
	core, err := minio.NewCore(f[0], &minio.Options{Creds: credentials.NewStaticV4(f[2], f[3], "")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, info, _, err := core.GetObject(r.Context(), f[1], strings.TrimPrefix(r.URL.Path, "/"), minio.GetObjectOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer body.Close()
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
		io.Copy(w, body)
	})}
	fmt.Printf("passthrough on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// passThrough is a running pass-through proxy in front of one bucket.
type passThrough struct {
	cmd *exec.Cmd
	URL string
	hc  *http.Client
}

// startPassThrough runs this test binary as a pass-through proxy to bucket
// of m, in a process of its own like the real server; stopped by
// tb.Cleanup.
func startPassThrough(tb testing.TB, m *s3test.Server, bucket string) *passThrough {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), proxyEnv+"="+strings.Join([]string{m.Endpoint, bucket, m.AccessKey, m.SecretKey}, " "))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &passThrough{cmd: cmd, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}}
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "passthrough on "); ok {
				urls <- u
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			tb.Fatal("pass-through proxy exited before serving")
		}
		p.URL = u
	case <-time.After(30 * time.Second):
		tb.Fatal("pass-through proxy did not start")
	}
	return p
}

// Pid is the proxy process's id.
func (p *passThrough) Pid() int { return p.cmd.Process.Pid }

// get reads key whole through the proxy and returns the bytes read.
func (p *passThrough) get(tb testing.TB, key string) int64 {
	tb.Helper()
	resp, err := p.hc.Get(p.URL + "/" + key)
	if err != nil {
		tb.Error(err)
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Errorf("pass-through GET %s = %d", key, resp.StatusCode)
		return 0
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		tb.Error(err)
	}
	return n
}

// decryptCPU returns the CPU seconds per GB the vault's decryption alone
// costs: a document of size bytes encrypted with a firm's real keys and
// read back whole through keys.Manager.DecryptRange from memory, so no
// network or storage is counted. Added to the pass-through proxy's CPU, it
// bounds from below what serving a download through the vault costs.
func decryptCPU(tb testing.TB, size int64) float64 {
	tb.Helper()
	v := vaulttest.Open(tb, tb.TempDir(), nil)
	ctx := context.Background()
	firm, _, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Bench LLP", Region: "us",
		Owner: vault.NewUser{Email: "owner@bench.test", Name: "Owner", Password: "correct horse battery staple"}})
	if err != nil {
		tb.Fatal(err)
	}
	ref := vault.DocRef{TenantID: firm.ID, DocumentID: "bench", Version: 1}
	var blob bytes.Buffer
	s, err := v.Keys.EncryptDocument(ctx, ref, vaulttest.NewGen(1, size), &blob)
	if err != nil {
		tb.Fatal(err)
	}
	fetch := func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob.Bytes()[off : off+n])), nil
	}
	const rounds = 4
	cpu := selfCPU(tb, func() {
		for range rounds {
			rc, err := v.Keys.DecryptRange(ctx, ref, s, 0, size, fetch)
			if err != nil {
				tb.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
				tb.Fatalf("decrypted %d bytes, %v", n, err)
			}
			rc.Close()
		}
	})
	return cpu / (float64(size) * rounds / 1e9)
}

// selfCPU returns the CPU seconds this process used while f ran.
func selfCPU(tb testing.TB, f func()) float64 {
	tb.Helper()
	before, err := vaulttest.CPUSeconds(0)
	if err != nil {
		tb.Fatal(err)
	}
	f()
	after, err := vaulttest.CPUSeconds(0)
	if err != nil {
		tb.Fatal(err)
	}
	return after - before
}

// aesGCMCPU returns the CPU seconds per GB of AES-256-GCM opening 4 KB
// segments (what Tink does per segment of a document) with Go's crypto on
// this CPU: the floor under any server that decrypts, whatever its design.
func aesGCMCPU(tb testing.TB) float64 {
	tb.Helper()
	blk, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		tb.Fatal(err)
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		tb.Fatal(err)
	}
	nonce := make([]byte, g.NonceSize())
	ct := g.Seal(nil, nonce, make([]byte, 4<<10), nil)
	dst := make([]byte, 0, 4<<10)
	const n = 64 << 10 // segments: 256 MiB
	cpu := selfCPU(tb, func() {
		for range n {
			if _, err := g.Open(dst, nonce, ct, nil); err != nil {
				tb.Fatal(err)
			}
		}
	})
	return cpu / (float64(n) * (4 << 10) / 1e9)
}
