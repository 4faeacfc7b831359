// Package s3test runs real S3 servers for tests: MinIO and the Versity S3
// gateway (versitygw), each a child process listening on 127.0.0.1 on a port
// chosen at run time, with its data in a fresh temporary directory and
// random root credentials.
//
// In a test:
//
//	srv := s3test.MinIO(t) // or s3test.Versity(t); stopped by t.Cleanup
//	store := srv.NewStore(t, "docs") // an *s3.Store on a fresh bucket
//
// To share one server among a package's tests, use Shared and close every
// shared server from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(s3test.Run(m)) }
//
//	func TestX(t *testing.T) { srv := s3test.Shared(t, s3test.KindMinIO); … }
//
// When a binary is missing the test is skipped, or fails if the environment
// variable CI is set; see Lookup for where binaries are looked for.
package s3test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The kinds of server Start knows.
const (
	KindMinIO   = "minio"
	KindVersity = "versitygw"
)

var binaryName = map[string]string{
	KindMinIO:   "minio",
	KindVersity: "versitygw",
}

// Region is the region every server is started with.
const Region = "us-east-1"

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 60 * time.Second

// Server is a running S3 server. Its fields are read-only.
type Server struct {
	Kind      string // KindMinIO or KindVersity
	Endpoint  string // "127.0.0.1:PORT", no scheme; plain HTTP
	AccessKey string
	SecretKey string

	dir     string // temporary root: data, log
	bin     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	closeOnce sync.Once
	closeErr  error
}

// Pid is the server process's id, for benchmarks that account its CPU.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Start starts a server of the given kind and waits until it answers. The
// caller must Close it. Errors wrap ErrNotInstalled when the binary is
// missing.
func Start(kind string) (*Server, error) {
	bin, err := Lookup(kind)
	if err != nil {
		return nil, err
	}
	// A port picked free may be taken before the server binds it; try again.
	for attempt := 1; ; attempt++ {
		s, err := start(kind, bin)
		if err == nil || attempt == 3 {
			return s, err
		}
	}
}

func start(kind, bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "casevault-"+kind+"-")
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{
		Kind:      kind,
		Endpoint:  net.JoinHostPort("127.0.0.1", port),
		AccessKey: "ak" + randomString(18),
		SecretKey: "sk" + randomString(38),
		dir:       dir,
		logPath:   filepath.Join(dir, "server.log"),
		exited:    make(chan struct{}),
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("s3test: %w", err)
	}

	s.bin = bin
	if err := s.launch(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// launch starts the server process on s's endpoint and data directory and
// waits until it answers.
func (s *Server) launch() error {
	kind, bin, dir := s.Kind, s.bin, s.dir
	data := filepath.Join(dir, "data")
	s.exited = make(chan struct{})
	cmd := exec.Command(bin)
	cmd.Dir = dir // versitygw and minio may write files to their working directory
	cmd.Env = os.Environ()
	switch kind {
	case KindMinIO:
		console, err := freePort()
		if err != nil {
			return err
		}
		cmd.Args = append(cmd.Args, "server", data,
			"--address", s.Endpoint,
			"--console-address", net.JoinHostPort("127.0.0.1", console),
			"--certs-dir", filepath.Join(dir, "certs"),
			"--quiet")
		cmd.Env = append(cmd.Env,
			"MINIO_ROOT_USER="+s.AccessKey,
			"MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_BROWSER=off",
			"MINIO_UPDATE=off",
			"MINIO_REGION="+Region)
	case KindVersity:
		cmd.Args = append(cmd.Args,
			"--access", s.AccessKey,
			"--secret", s.SecretKey,
			"--port", s.Endpoint,
			"--region", Region,
			"--quiet",
			"posix", data)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group, so Close kills the server and anything it spawned;
	// and a kill of this process (a test timeout) takes the server along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("s3test: starting %s: %w", kind, err)
	}
	logFile.Close() // the child has its own descriptor
	s.cmd = cmd
	exited := s.exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()

	if err := s.waitReady(); err != nil {
		msg := s.Log()
		s.Close()
		return fmt.Errorf("s3test: %s did not start: %w\n--- server output ---\n%s", kind, err, msg)
	}
	return nil
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// MinIO answers its liveness probe before it serves S3 ("Server not
	// initialized yet"), so it must pass both checks.
	ready := s.listBuckets
	if s.Kind == KindMinIO {
		ready = func(ctx context.Context) error {
			if err := s.minioLive(ctx); err != nil {
				return err
			}
			return s.listBuckets(ctx)
		}
	}
	var err error
	for {
		if err = ready(ctx); err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %w", startTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) minioLive(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/minio/health/live", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s", resp.Status)
	}
	return nil
}

func (s *Server) listBuckets(ctx context.Context) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = c.ListBuckets(ctx)
	return err
}

// URL returns the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.Endpoint }

// Client returns a new minio-go client for the server's root account, for
// tests that look behind a store's back.
func (s *Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:     Region,
		MaxRetries: 1,
	})
}

// Log returns the last 8 KiB of the server's output, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// Close kills the server with its process group, waits for it to exit and
// removes its data. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.closeErr = fmt.Errorf("s3test: %s (pid %d) did not exit", s.Kind, s.cmd.Process.Pid)
			}
		}
		if err := os.RemoveAll(s.dir); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("s3test: %w", err)
		}
	})
	return s.closeErr
}

// MinIO starts a MinIO server for tb and stops it when tb's test ends.
func MinIO(tb testing.TB) *Server { tb.Helper(); return startFor(tb, KindMinIO) }

// Versity starts a versitygw server for tb and stops it when tb's test ends.
func Versity(tb testing.TB) *Server { tb.Helper(); return startFor(tb, KindVersity) }

func startFor(tb testing.TB, kind string) *Server {
	tb.Helper()
	s, err := Start(kind)
	if err != nil {
		skipOrFail(tb, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("closing %s: %v", kind, err)
		}
	})
	return s
}

// skipOrFail skips tb when a binary is missing, unless CI is set; any other
// error fails tb.
func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") == "" {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

var shared struct {
	sync.Mutex
	servers map[string]*Server
	errs    map[string]error
}

// Shared returns the process's one server of kind, starting it on first use;
// Run stops it after the package's tests. A start that failed fails (or
// skips) every later caller the same way, without trying again.
func Shared(tb testing.TB, kind string) *Server {
	tb.Helper()
	shared.Lock()
	defer shared.Unlock()
	if s := shared.servers[kind]; s != nil {
		return s
	}
	err := shared.errs[kind]
	if err == nil {
		var s *Server
		if s, err = Start(kind); err == nil {
			if shared.servers == nil {
				shared.servers = make(map[string]*Server)
			}
			shared.servers[kind] = s
			return s
		}
		if shared.errs == nil {
			shared.errs = make(map[string]error)
		}
		shared.errs[kind] = err
	}
	skipOrFail(tb, err)
	return nil
}

// Run runs the tests of m, then closes every server Shared started, and
// returns the exit code for os.Exit. Call it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if err := CloseShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// CloseShared closes every server Shared started. Run calls it.
func CloseShared() error {
	shared.Lock()
	defer shared.Unlock()
	var errs []error
	for kind, s := range shared.servers {
		errs = append(errs, s.Close())
		delete(shared.servers, kind)
	}
	return errors.Join(errs...)
}

// NewBucketName returns a fresh, valid bucket name that starts with prefix
// (lowercased, and cut to keep the name within 63 characters).
func NewBucketName(prefix string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(prefix) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			b.WriteRune(c)
		}
	}
	p := strings.Trim(b.String(), "-")
	if p == "" {
		p = "test"
	}
	if len(p) > 45 {
		p = strings.TrimRight(p[:45], "-")
	}
	return p + "-" + randomString(16)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("s3test: finding a free port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// randomString returns n random characters of [a-z0-9].
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
