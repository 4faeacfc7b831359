package detect_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/vault"
)

// BenchmarkEngine_Observe measures the detector's own cost per event,
// without the log: views by 64 users of 8 firms, each request signed in
// with an API token (so token_new_source hashes its source with
// HMAC-SHA256, as the keyed index does), with every rule on and with
// every rule off. No database: the counters' batched writes are not per
// event.
func BenchmarkEngine_Observe(b *testing.B) {
	key := []byte("benchmark index key, 32 bytes..")
	hash := func(_ context.Context, tenant, token, source string) ([]byte, error) {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(tenant + "\x00" + token + "\x00" + vault.NormalizeSource(source)))
		return m.Sum(nil), nil
	}
	for _, on := range []bool{false, true} {
		name := "RulesOff"
		if on {
			name = "RulesOn"
		}
		b.Run(name, func(b *testing.B) {
			st := vault.DefaultDetectionSettings()
			for id, r := range st.Rules {
				r.Enabled = on
				st.Rules[id] = r
			}
			e := detect.New(detect.Options{SourceHash: hash})
			for f := range 8 {
				e.Configure(fmt.Sprintf("ten_%d", f), st)
			}
			now := time.Now().UTC()
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				ev := vault.AuditEvent{TenantID: fmt.Sprintf("ten_%d", i%8), ActorID: fmt.Sprintf("usr_%d", i%64),
					Time: now.Add(time.Duration(i) * time.Millisecond), Action: vault.ActDocumentView, ObjectType: "document",
					Outcome: vault.OutcomeOK, Source: "203.0.113.7", Details: map[string]string{"matter_id": "mat_1"}}
				e.Observe(ctx, vault.Observation{Seq: int64(i + 1), Event: &ev, TokenID: fmt.Sprintf("tok_%d", i%8), TokenKind: vault.TokenAPI})
			}
		})
	}
}
