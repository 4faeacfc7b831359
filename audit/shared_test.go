package audit_test

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

// TestLog_TwoWritersOneFile checks that two Logs on one file — the server
// and an operator command running at the same time — interleave appends
// without reusing a sequence number or breaking the chain.
func TestLog_TwoWritersOneFile(t *testing.T) {
	e := newTestEnv(t)
	a := e.open(t, nil)
	b := e.open(t, nil)
	const tenant = "ten_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	var want int64
	for i := range 20 {
		l := a
		if i%3 == 0 {
			l = b
		}
		want++
		if seq := mustAppend(t, l, sampleEvent(tenant, i)); seq != want {
			t.Fatalf("append %d got seq %d, want %d", i, seq, want)
		}
	}
	checkChain(t, a, tenant, want)
}

// noteKey returns the Ed25519 private key of a note signer key, as the
// log's Timestamper hands it out.
func noteKey(tb testing.TB, skey string) crypto.Signer {
	tb.Helper()
	parts := strings.SplitN(skey, "+", 5)
	b, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(b) != 1+ed25519.SeedSize {
		tb.Fatalf("not a note signer key")
	}
	return ed25519.NewKeyFromSeed(b[1:])
}
