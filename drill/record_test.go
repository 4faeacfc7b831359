package drill_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/drill"
)

type key struct {
	signer note.Signer
	vkey   string
}

func newKey(t *testing.T, region string) key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, drill.KeyName(region))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return key{s, vkey}
}

func okRecord() *drill.Record {
	r := &drill.Record{Format: drill.Format, ID: drill.NewID(), Region: "ca", OK: true,
		Firms: 2, Documents: 3, Versions: 4, AuditEvents: 40, AuditBehind: 1, Sampled: 4, SampledBytes: 1000}
	start := time.Date(2026, 12, 2, 1, 0, 0, 123456789, time.UTC)
	r.SetTimes(start, start.Add(1500*time.Millisecond), start.Add(2*time.Second), start.Add(-7*time.Second))
	return r
}

func TestRecord_SignVerify(t *testing.T) {
	ca, us := newKey(t, "ca"), newKey(t, "us")
	r := okRecord()
	b, err := r.Sign(ca.signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := drill.Verify(b, []string{us.vkey, ca.vkey})
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, b)
	}
	if *got.RPOms != 7000 || *got.RTOms != 1500 || !got.OK || got.ID != r.ID {
		t.Errorf("got %+v, want rpo 7000 ms, rto 1500 ms, ok, id %s", got, r.ID)
	}
	if s := got.Summary(); s.RPO != 7*time.Second || s.RTO != 1500*time.Millisecond {
		t.Errorf("summary %+v", s)
	}
	if _, err := r.Sign(us.signer); err == nil {
		t.Error("a record of ca signed by us's key: got no error")
	}
	failed := okRecord()
	failed.OK, failed.Failure, failed.MissingBlobs = false, "1 version's blob is missing", 1
	if _, err := failed.Sign(ca.signer); err != nil {
		t.Errorf("a failed drill's record: %v", err)
	}
	failed.OK = true
	if _, err := failed.Sign(ca.signer); err == nil {
		t.Error("ok with a missing blob: got no error")
	}
}

func TestVerify_Tampered(t *testing.T) {
	ca, us := newKey(t, "ca"), newKey(t, "us")
	b, err := okRecord().Sign(ca.signer)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	sigAt := strings.LastIndex(text, "\n\n") + 2
	// Every byte of the body and of the signature line matters.
	for i := 0; i < len(b); i++ {
		if b[i] == '\n' {
			continue
		}
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		if _, err := drill.Verify(c, []string{ca.vkey}); err == nil {
			t.Fatalf("byte %d (%s) flipped: verified", i, map[bool]string{true: "signature", false: "body"}[i >= sigAt])
		}
	}
	forged := strings.Replace(text, `"ok": true`, `"ok": false`, 1)
	for _, tc := range []struct {
		name string
		file string
		keys []string
		want string
	}{
		{"ChangedBody", forged, []string{ca.vkey}, "does not verify: the record was changed after it was signed"},
		{"OtherRegionKey", text, []string{us.vkey}, "not signed by any of the given keys"},
		{"NoKey", text, nil, "no verifier key given"},
		{"Unsigned", text[:sigAt-1], []string{ca.vkey}, "not a signed note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := drill.Verify([]byte(tc.file), tc.keys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("ResignedInconsistent", func(t *testing.T) {
		// A holder of the key who signs figures that do not add up is caught too.
		r := okRecord()
		*r.RTOms = 1
		msg, err := note.Sign(&note.Note{Text: body(t, r)}, ca.signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drill.Verify(msg, []string{ca.vkey}); err == nil || !strings.Contains(err.Error(), "rto_ms") {
			t.Errorf("got %v, want an rto_ms error", err)
		}
	})
}

func body(t *testing.T, r *drill.Record) string {
	t.Helper()
	b, err := r.Body()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
