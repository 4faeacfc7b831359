package web_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/casevault/casevault/internal/oidctest"
	"github.com/casevault/casevault/vault"
)

// BenchmarkSSO_Callback measures, server side and in the same run, the
// password sign-in (vault.Service.LoginToFirm at the production argon2id
// costs, throttle and audit log included) and the single sign-on callback
// (sso.Flow.Callback: the code exchanged with the provider over loopback,
// the ID token verified against its cached keys, the firm's account found
// and a session issued and audited), alternating one of each so both see
// the same load. The provider's signing of the ID token is done before the
// clock starts. It reports the mean and p50 of each, in ns per sign-in,
// and the ratio sso/password of the means.
func BenchmarkSSO_Callback(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	f := newSSOFirm(b, e, "bench-secret", nil)
	e.Svc.PasswordParams = vault.DefaultPasswordParams
	email, pw := "bench.lawyer@example.com", "a bench passphrase of some length"
	if _, _, err := e.Svc.AddUser(ctx, f.owner.TenantID, vault.NewUser{Email: email, Password: pw, Role: vault.RoleLawyer}); err != nil {
		b.Fatal(err)
	}
	flow := e.Server.SSO()
	ssoOnce := func() time.Duration {
		_, authURL, err := flow.Start(ctx, f.owner.TenantID)
		if err != nil {
			b.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		now := e.Clock.Now()
		f.iss.Answer(f.iss.Sign(b, oidctest.Claims{Audience: ssoClientID, Subject: "s", Email: email, EmailVerified: true,
			Nonce: u.Query().Get("nonce"), IssuedAt: now, Expiry: now.Add(time.Minute)}))
		start := time.Now()
		if _, _, err := flow.Callback(ctx, u.Query().Get("state"), "", "code", ""); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	passwordOnce := func() time.Duration {
		start := time.Now()
		if _, _, err := e.Svc.LoginToFirm(ctx, "", email, pw, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	ssoOnce() // warm up: discovery and keys fetched once
	passwordOnce()

	var pass, sso []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			pass = append(pass, passwordOnce())
			sso = append(sso, ssoOnce())
		} else {
			sso = append(sso, ssoOnce())
			pass = append(pass, passwordOnce())
		}
	}
	b.StopTimer()
	mean := func(l []time.Duration) float64 {
		var t time.Duration
		for _, d := range l {
			t += d
		}
		return float64(t) / float64(len(l))
	}
	p50 := func(l []time.Duration) float64 {
		l = slices.Clone(l)
		slices.Sort(l)
		return float64(l[len(l)/2])
	}
	b.ReportMetric(mean(pass), "password-ns/signin")
	b.ReportMetric(p50(pass), "password-p50-ns")
	b.ReportMetric(mean(sso), "sso-callback-ns/signin")
	b.ReportMetric(p50(sso), "sso-callback-p50-ns")
	b.ReportMetric(mean(sso)/mean(pass), "sso/password")
}
