package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/s3"
	"github.com/casevault/casevault/vault/s3/s3test"
)

// TestStore_PutCheckedDamaged puts objects through a proxy that flips one
// byte of every upload's body on its way to the real server, as a faulty
// network or disk path would: the server computes the checksum of what it
// received, finds it differs from the one PutChecked sent, and refuses it;
// PutChecked answers unavailable and nothing is stored under the key, for
// a single PUT (the checksum in a trailer) and a multipart upload (one per
// part and one for the whole), and no multipart upload is left behind.
func TestStore_PutCheckedDamaged(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			srv := s3test.Shared(t, kind)
			direct := srv.NewStore(t, "damaged")
			var flipped atomic.Int64
			target := &url.URL{Scheme: "http", Host: srv.Endpoint}
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && r.ContentLength > 300 {
					r.Body = &flipAt{r: r.Body, at: 250, done: &flipped}
				}
				out := r.Clone(r.Context())
				out.URL.Scheme, out.URL.Host, out.RequestURI = target.Scheme, target.Host, ""
				resp, err := http.DefaultTransport.RoundTrip(out)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				for k, v := range resp.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(resp.StatusCode)
				io.Copy(w, resp.Body)
			}))
			defer proxy.Close()
			cfg := srv.Config(direct.Bucket())
			cfg.Endpoint = strings.TrimPrefix(proxy.URL, "http://")
			st, err := s3.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int64{1000, 21<<20 + 77} {
				key := "damaged/obj-" + strings.Repeat("x", int(size%7))
				data := bytes.Repeat([]byte{0x5a}, int(size))
				before := flipped.Load()
				_, _, err := st.PutChecked(context.Background(), key, bytes.NewReader(data), size)
				if flipped.Load() == before {
					t.Fatalf("%d bytes: the proxy flipped no byte", size)
				}
				if got, want := vault.ErrorCode(err), vault.EUNAVAILABLE; got != want {
					t.Errorf("%d bytes: PutChecked through a damaging proxy: %v (code %q), want code %q", size, err, got, want)
				}
				if _, err := direct.Stat(context.Background(), key); vault.ErrorCode(err) != vault.ENOTFOUND {
					t.Errorf("%d bytes: Stat after the refused upload: %v, want not_found", size, err)
				}
			}
			wantNoUploads(t, direct)
		})
	}
}

// flipAt flips the byte at offset at of a request body.
type flipAt struct {
	r    io.ReadCloser
	at   int64
	n    int64
	done *atomic.Int64
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.n && f.at < f.n+int64(n) {
		p[f.at-f.n] ^= 0xff
		f.done.Add(1)
	}
	f.n += int64(n)
	return n, err
}

func (f *flipAt) Close() error { return f.r.Close() }
