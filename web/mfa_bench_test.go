package web_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// BenchmarkMFA_SignIn measures, over real HTTP, a password sign-in (the
// baseline) and a password-and-TOTP sign-in (POST /api/v1/auth/login, then
// POST /api/v1/auth/mfa with a fresh code) in alternating rounds of the
// same run, and reports the p50 of each, the added latency of the second
// step and the ratio. The service clock moves one 30 s step before each
// TOTP sign-in, since a code is accepted only once.
func BenchmarkMFA_SignIn(b *testing.B) {
	e := newEnv(b)
	_, o := e.firm(b, "us")
	plain := newMFAUser(b, e, o.TenantID, vault.RoleLawyer)
	withTOTP := newMFAUser(b, e, o.TenantID, vault.RoleLawyer)
	enrolTOTP(b, e, withTOTP)

	login := func(m *mfaUser) (challengeJSON, time.Duration) {
		start := time.Now()
		var ch challengeJSON
		e.client().json(b, "POST", "/api/v1/auth/login", map[string]string{"email": m.email, "password": m.password}, http.StatusOK, &ch)
		return ch, time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var pw, full, second []time.Duration
		for range 20 {
			ch, d := login(plain)
			if ch.Token == "" {
				b.Fatal("password sign-in gave no token")
			}
			pw = append(pw, d)

			nextStep(e)
			ch, d1 := login(withTOTP)
			if ch.Challenge == "" {
				b.Fatal("TOTP user's sign-in gave no challenge")
			}
			code := totpCode(b, e, withTOTP.secret, 0)
			start := time.Now()
			e.client().json(b, "POST", "/api/v1/auth/mfa", map[string]string{"challenge": ch.Challenge, "code": code}, http.StatusOK, nil)
			d2 := time.Since(start)
			full, second = append(full, d1+d2), append(second, d2)
		}
		p50 := func(ds []time.Duration) float64 {
			slices.Sort(ds)
			return float64(ds[len(ds)/2].Microseconds()) / 1000
		}
		base, mfa, step := p50(pw), p50(full), p50(second)
		b.ReportMetric(base, "password-p50-ms")
		b.ReportMetric(mfa, "password+totp-p50-ms")
		b.ReportMetric(step, "totp-step-p50-ms")
		b.ReportMetric(mfa-base, "added-ms")
		b.ReportMetric(mfa/base, "ratio")
		fmt.Fprintf(os.Stderr, "sign-in, 20 of each: password p50 %.1f ms; password+TOTP p50 %.1f ms (second step %.1f ms); added %.1f ms, ratio %.2f\n",
			base, mfa, step, mfa-base, mfa/base)
	}
}
