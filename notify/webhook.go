package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/casevault/casevault/vault"
)

// Headers of a webhook delivery (docs/WEBHOOKS.md).
const (
	HeaderSignature = "CaseVault-Signature"
	HeaderDelivery  = "CaseVault-Delivery"
)

// Sign returns the CaseVault-Signature header value of body sent at t:
// "t=UNIX,v1=HEX", HEX being HMAC-SHA256 keyed with the secret's bytes over
// "UNIX.body".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("notify: the signature does not match")
	ErrStale        = errors.New("notify: the signature's timestamp is outside the tolerance")
	ErrMalformed    = errors.New("notify: the signature header is malformed")
)

// Verify checks a CaseVault-Signature header for body as a receiver does:
// some v1 matches HMAC-SHA256(secret, t + "." + body), in constant time,
// and t is within tolerance of now. Deduplicating on CaseVault-Delivery
// (for as long as the tolerance) is the receiver's other half of replay
// protection.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// errPrivate refuses a connection to a loopback, private or link-local
// address: a firm must not point the server at its operator's network.
var errPrivate = errors.New("private address")

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

// newWebhookClient is the client of every webhook delivery: TLS with
// roots (nil: the system's), no proxy, no redirects, and a dialer that
// checks the address it actually connects to (after DNS, so a name that
// resolves to a private address is refused too) unless allowPrivate.
func newWebhookClient(roots *x509.CertPool, allowPrivate bool, timeout time.Duration) *http.Client {
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
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		// A redirect could lead anywhere; the firm gives the final URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// sendWebhook POSTs d's payload to ch, signed, and returns the HTTP status
// and "" for a 2xx answer, else the error's word.
func (w *Worker) sendWebhook(ctx context.Context, ch *vault.Channel, d *vault.Delivery) (int, string) {
	u, err := url.Parse(ch.Config.URL)
	if err != nil || u.Scheme != "https" {
		return 0, "invalid_url"
	}
	body := w.payload(d)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.Config.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "invalid_url"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "casevault-notify/1")
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderSignature, Sign(ch.Config.Secret, w.opts.Now(), body))
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, transportError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, "http_status"
	}
	return resp.StatusCode, ""
}

// transportError names what failed, in a fixed word, never where.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ce *tls.CertificateVerificationError
	var de *net.DNSError
	var re tls.RecordHeaderError
	switch {
	case errors.Is(err, errPrivate):
		return "private_address"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ce) || errors.As(err, &re):
		return "tls"
	case errors.As(err, &de):
		return "dns"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "unreachable"
}
