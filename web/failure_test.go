package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault/vaulttest"
	"github.com/casevault/casevault/web"
)

func TestServer_Panics(t *testing.T) {
	e := newEnv(t)
	logs := &vaulttest.SyncBuffer{}
	srv := web.NewServer(e.Svc, zerolog.New(logs))
	srv.Addr = "127.0.0.1:0"
	srv.HandleTest("GET", "/boom", func(w http.ResponseWriter, r *http.Request) { panic("kaboom") })
	srv.HandleTest("GET", "/boom-late", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("partial"))
		panic("kaboom late")
	})
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	c := &client{base: srv.URL(), hc: http.DefaultClient}

	resp, b := c.read(t, "GET", "/boom", nil, http.Header{"X-Request-Id": {"req-boom"}})
	if got := wantError(t, resp, b, 500, "internal"); got.Error.Message != "Internal error." {
		t.Errorf("message = %q", got.Error.Message)
	}
	if strings.Contains(string(b), "kaboom") {
		t.Error("the panic value reached the client")
	}
	if n := strings.Count(logs.String(), `"request_id":"req-boom","code":"internal"`); n != 1 {
		t.Errorf("internal error logged %d times:\n%s", n, logs.String())
	}

	// After the first byte, a panic cuts the connection: the client must
	// not see a complete response.
	r, err := http.Get(srv.URL() + "/boom-late")
	if err == nil {
		_, err = io.ReadAll(r.Body)
		r.Body.Close()
	}
	if err == nil {
		t.Fatal("a response cut by a panic read back as complete")
	}
}

// blobFile returns the one blob file of a region store.
func blobFile(t *testing.T, e *env) string {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(e.Dir, "regions"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("%d blob files, want 1", len(files))
	}
	return files[0]
}

// flipByte corrupts one byte of a file at off (from the end when negative).
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x55
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestContent_Tampered(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")
	d := owner.upload(t, mid, "t.bin", "application/octet-stream", random(5, 3<<20))
	blob := blobFile(t, e)
	path := "/api/v1/documents/" + d.ID + "/download"

	// Damage in the last part: the first part streams, then the connection
	// is cut, so the client sees a truncated body, never a complete one.
	flipByte(t, blob, -100)
	resp := owner.do(t, "GET", path, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n >= 3<<20 {
		t.Fatalf("tampered download read %d bytes, err %v; want a truncated body and an error", n, err)
	}
	// A range that avoids the damage still reads.
	if resp, b := owner.read(t, "GET", path, nil, http.Header{"Range": {"bytes=0-99"}}); resp.StatusCode != 206 || len(b) != 100 {
		t.Fatalf("undamaged range = %d, %d bytes", resp.StatusCode, len(b))
	}

	// Damage in the first part: nothing was sent yet, so a JSON error.
	flipByte(t, blob, 200)
	resp, b := owner.read(t, "GET", path, nil, nil)
	got := wantError(t, resp, b, 500, "cannot_decrypt")
	if resp.Header.Get("Content-Disposition") != "" || strings.Contains(got.Error.Message, "tink") {
		t.Errorf("error response = %v %s", resp.Header, b)
	}
	if !strings.Contains(e.Log.String(), `"code":"cannot_decrypt"`) {
		t.Error("decryption failure not logged")
	}
}

func TestServer_TLS(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)

	srv := web.NewServer(e.Svc, zerolog.Nop())
	srv.Addr = "127.0.0.1:0"
	srv.TLSCertFile, srv.TLSKeyFile = certFile, keyFile
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	if !strings.HasPrefix(srv.URL(), "https://") || !srv.UseTLS() {
		t.Fatalf("URL = %s", srv.URL())
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("HSTS = %q", hsts)
	}

	bad := web.NewServer(e.Svc, zerolog.Nop())
	bad.Addr, bad.TLSCertFile = "127.0.0.1:0", certFile
	if err := bad.Open(); err == nil {
		bad.Close(t.Context())
		t.Fatal("Open with a cert but no key succeeded")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns a
// pool that trusts it.
func writeCert(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "casevault test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600),
	); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
