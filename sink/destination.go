package sink

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/s3"
)

// destination receives delivered objects.
type destination interface {
	deliver(ctx context.Context, o *Object) error
}

// errPrivate refuses a connection to a loopback, private or link-local
// address: a firm must not point the server at its operator's network.
var errPrivate = errors.New("the sink resolves to a loopback, private or link-local address, which the server does not connect to (audit.sink_allow_private)")

// publicIP reports whether ip is a public unicast address.
func publicIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	if ip4 := ip.To4(); ip4 != nil && ip4[0] == 100 && ip4[1]&0xc0 == 64 { // 100.64.0.0/10, carrier-grade NAT
		return false
	}
	return true
}

// newTransport returns the transport of every delivery: TLS with roots
// (nil: the system's), no proxy, and a dialer that connects to public
// addresses only unless allowPrivate.
func newTransport(roots *x509.CertPool, allowPrivate bool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); !allowPrivate && (ip == nil || !publicIP(ip)) {
			return errPrivate
		}
		return nil
	}}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
}

// webhook POSTs each object to the firm's URL.
type webhook struct {
	client *http.Client
	url    string
	token  string
}

func (w *webhook) deliver(ctx context.Context, o *Object) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(o.Marshal()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "casevault-audit-sink/1")
	// The object name, the same for every repeat of one delivery.
	req.Header.Set("Idempotency-Key", o.Name(""))
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return safeError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// bucket puts each object into the firm's bucket.
type bucket struct {
	objects *s3.Objects
	prefix  string
}

func (b *bucket) deliver(ctx context.Context, o *Object) error {
	if err := b.objects.Put(ctx, o.Name(b.prefix), o.Marshal(), "application/json"); err != nil {
		if code := s3.ErrorCode(err); code != "" {
			return fmt.Errorf("the bucket refused the object: %s", code)
		}
		return safeError(errors.Unwrap(err))
	}
	return nil
}

// newDestination builds the destination of a sink's config.
func newDestination(c vault.AuditSinkConfig, tr *http.Transport) (destination, error) {
	switch c.Kind {
	case vault.SinkWebhook:
		return &webhook{
			client: &http.Client{Transport: tr, Timeout: time.Minute,
				// A redirect could lead anywhere; the firm gives the final URL.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
			url: c.URL, token: c.Token,
		}, nil
	case vault.SinkS3:
		u, err := url.Parse(c.Endpoint)
		if err != nil {
			return nil, err
		}
		o, err := s3.NewObjects(s3.ObjectsConfig{Endpoint: u.Host, Secure: u.Scheme == "https", Bucket: c.Bucket,
			Region: c.Region, AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, Transport: tr})
		if err != nil {
			return nil, err
		}
		return &bucket{objects: o, prefix: c.Prefix}, nil
	}
	return nil, fmt.Errorf("unknown sink kind %q", c.Kind)
}

// safeError drops the URL from a transport error, so what is logged and
// shown names what failed, not where the firm keeps its copies.
func safeError(err error) error {
	if err == nil {
		return errors.New("the sink could not be reached")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, errPrivate):
		return errPrivate
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("the sink did not answer in time")
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("the sink refused the connection")
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return errors.New("the sink's TLS certificate is not trusted (audit.sink_ca_file adds a CA)")
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return errors.New("the sink's host name does not resolve")
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("cannot reach the sink (%s)", oe.Op)
	}
	return errors.New("the sink could not be reached")
}
