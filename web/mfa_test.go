package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/casevault/casevault/vault"
)

// mfaUser is a user of a firm with a known password and a signed-in client.
type mfaUser struct {
	*client
	u        *vault.User
	email    string
	password string
	secret   string   // TOTP secret, once enrolled
	recovery []string // recovery codes, once enrolled
}

// newMFAUser adds a user with role to tenantID and signs them in.
func newMFAUser(t testing.TB, e *env, tenantID string, role vault.Role) *mfaUser {
	t.Helper()
	email := vault.NewID("u")[2:14] + "@example.com"
	u, password, err := e.Svc.AddUser(context.Background(), tenantID, vault.NewUser{Email: email, Role: role})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	return &mfaUser{client: e.login(t, email, password), u: u, email: email, password: password}
}

// totpCode is the code of secret at the server clock's time plus d.
func totpCode(t testing.TB, e *env, secret string, d time.Duration) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, e.Clock.Now().Add(d), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// nextStep moves the server clock to the start of the next 30 s step, so a
// new code is due.
func nextStep(e *env) {
	now := e.Clock.Now()
	e.Clock.Advance(time.Duration(30-now.Unix()%30)*time.Second + time.Millisecond)
}

// enrolTOTP enrols an authenticator app for m through the API.
func enrolTOTP(t testing.TB, e *env, m *mfaUser) {
	t.Helper()
	var en struct {
		Secret string `json:"secret"`
		URL    string `json:"otpauth_url"`
		QR     []byte `json:"qr_png"`
	}
	m.json(t, "POST", "/api/v1/me/mfa/totp", nil, http.StatusCreated, &en)
	if en.Secret == "" || !strings.HasPrefix(en.URL, "otpauth://totp/") || len(en.QR) < 100 {
		t.Fatalf("begin = secret %q url %q qr %d bytes", en.Secret, en.URL, len(en.QR))
	}
	var rc struct {
		Codes []string `json:"recovery_codes"`
	}
	m.json(t, "POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": totpCode(t, e, en.Secret, 0)}, http.StatusOK, &rc)
	if len(rc.Codes) != vault.RecoveryCodeCount {
		t.Fatalf("got %d recovery codes, want %d", len(rc.Codes), vault.RecoveryCodeCount)
	}
	m.secret, m.recovery = en.Secret, rc.Codes
}

// enrolTOTPDirect enrols an authenticator app for u through the service,
// for tests whose subject is elsewhere, and returns its secret.
func enrolTOTPDirect(t testing.TB, e *env, u *vault.User) string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Svc.BeginTOTP(ctx, u); err != nil {
		t.Fatal(err)
	}
	tf, err := e.DB.TOTP(ctx, u.TenantID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.ConfirmTOTP(ctx, u, totpCode(t, e, tf.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	return tf.Secret
}

// challengeJSON is the login answer when a second factor is needed.
type challengeJSON struct {
	MFARequired bool      `json:"mfa_required"`
	Challenge   string    `json:"challenge"`
	ExpiresAt   time.Time `json:"expires_at"`
	Methods     []string  `json:"methods"`
	Token       string    `json:"token"`
}

// passwordStep signs m in with the password and wants a challenge.
func passwordStep(t testing.TB, e *env, m *mfaUser) challengeJSON {
	t.Helper()
	var ch challengeJSON
	e.client().json(t, "POST", "/api/v1/auth/login", map[string]string{"email": m.email, "password": m.password}, http.StatusOK, &ch)
	if !ch.MFARequired || ch.Challenge == "" || ch.Token != "" {
		t.Fatalf("login = %+v, want a challenge and no token", ch)
	}
	return ch
}

// mfaStep answers a challenge and returns the response and body.
func mfaStep(t testing.TB, e *env, challenge string, proof map[string]string) (*http.Response, []byte, string) {
	t.Helper()
	body := map[string]string{"challenge": challenge}
	for k, v := range proof {
		body[k] = v
	}
	c := e.client()
	h := http.Header{"Content-Type": {"application/json"}}
	resp, b := c.read(t, "POST", "/api/v1/auth/mfa", strings.NewReader(mustJSON(t, body)), h)
	var lr struct {
		Token string `json:"token"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &lr); err != nil || lr.Token == "" {
			t.Fatalf("mfa = %s, want a token", b)
		}
	}
	return resp, b, lr.Token
}

func TestMFA_TOTPSignIn(t *testing.T) {
	e := newEnv(t)
	owner, tenant := e.firm(t, "us")
	m := newMFAUser(t, e, tenant.TenantID, vault.RoleLawyer)
	enrolTOTP(t, e, m)

	t.Run("PasswordAloneGivesChallengeNoSession", func(t *testing.T) {
		ch := passwordStep(t, e, m)
		if got, want := strings.Join(ch.Methods, ","), "totp,recovery"; got != want {
			t.Errorf("methods = %q, want %q", got, want)
		}
		if d := ch.ExpiresAt.Sub(e.Clock.Now()); d <= 4*time.Minute || d > 5*time.Minute {
			t.Errorf("challenge lives %v, want 5m", d)
		}
		// The challenge is no bearer token.
		c := e.client()
		c.token = ch.Challenge
		resp, b := c.read(t, "GET", "/api/v1/me", nil, nil)
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	})
	t.Run("WrongCodeRefusedAndAudited", func(t *testing.T) {
		ch := passwordStep(t, e, m)
		good := totpCode(t, e, m.secret, 0)
		bad := "000000"
		if bad == good {
			bad = "111111"
		}
		resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"code": bad})
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
		evs := auditEvents(t, owner, "action="+vault.ActMFACodeFailed)
		if len(evs) == 0 || evs[len(evs)-1].ObjectID != m.u.ID || evs[len(evs)-1].Details["reason"] != "wrong_code" {
			t.Fatalf("code_failed events = %+v, want one for the user with reason wrong_code", evs)
		}
	})
	t.Run("ReusedCodeRefused", func(t *testing.T) {
		// The enrolment's code's step is spent: the same code again fails.
		// The code is that step's, whenever this runs (the clock may
		// have reached the next step since the enrolment).
		tf, err := e.DB.TOTP(context.Background(), m.u.TenantID, m.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		spent := time.Unix(tf.LastStep*30, 0).Sub(e.Clock.Now())
		ch := passwordStep(t, e, m)
		resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"code": totpCode(t, e, m.secret, spent)})
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)

		nextStep(e)
		code := totpCode(t, e, m.secret, 0)
		resp, b, tok := mfaStep(t, e, ch.Challenge, map[string]string{"code": code})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("fresh code = %d %s, want 200", resp.StatusCode, b)
		}
		c := e.client()
		c.token = tok
		var me vault.User
		c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
		if me.ID != m.u.ID {
			t.Fatalf("signed in as %s, want %s", me.ID, m.u.ID)
		}
		var toks []vault.Token
		c.json(t, "GET", "/api/v1/tokens", nil, http.StatusOK, &toks)
		if len(toks) == 0 || toks[len(toks)-1].Method != vault.SignInMFA {
			t.Errorf("session tokens = %+v, want the last with method mfa", toks)
		}

		// The same code on a new challenge: replayed.
		ch2 := passwordStep(t, e, m)
		resp, b, _ = mfaStep(t, e, ch2.Challenge, map[string]string{"code": code})
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
		evs := auditEvents(t, owner, "action="+vault.ActMFACodeFailed)
		if got := evs[len(evs)-1].Details["reason"]; got != "replayed" {
			t.Errorf("last code_failed reason = %q, want replayed", got)
		}
	})
	t.Run("ChallengeSingleUse", func(t *testing.T) {
		nextStep(e)
		ch := passwordStep(t, e, m)
		resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"code": totpCode(t, e, m.secret, 0)})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("first use = %d %s", resp.StatusCode, b)
		}
		nextStep(e)
		resp, b, _ = mfaStep(t, e, ch.Challenge, map[string]string{"code": totpCode(t, e, m.secret, 0)})
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	})
	t.Run("ChallengeExpires", func(t *testing.T) {
		ch := passwordStep(t, e, m)
		e.Clock.Advance(vault.MFAChallengeTTL + time.Second)
		resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"code": totpCode(t, e, m.secret, 0)})
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	})
	t.Run("ChallengeDiesAfterFiveWrongCodes", func(t *testing.T) {
		nextStep(e)
		ch := passwordStep(t, e, m)
		good := totpCode(t, e, m.secret, 0)
		for i := range vault.MFAChallengeMaxFailures {
			bad := "00000" + string(rune('0'+i))
			if bad == good {
				bad = "99999" + string(rune('0'+i))
			}
			resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"code": bad})
			wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
		}
		resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"code": good})
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	})
	t.Run("RecoveryCodesWorkOnceEach", func(t *testing.T) {
		e.Clock.Advance(time.Hour) // past the throttle's wait from the failures above
		for _, code := range m.recovery[:2] {
			ch := passwordStep(t, e, m)
			resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{"recovery_code": strings.ToLower(code)})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("recovery code = %d %s, want 200", resp.StatusCode, b)
			}
			ch = passwordStep(t, e, m)
			resp, b, _ = mfaStep(t, e, ch.Challenge, map[string]string{"recovery_code": code})
			wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
		}
		var st vault.MFAStatus
		m.json(t, "GET", "/api/v1/me/mfa", nil, http.StatusOK, &st)
		if got, want := st.RecoveryCodesLeft, vault.RecoveryCodeCount-2; got != want {
			t.Errorf("recovery codes left = %d, want %d", got, want)
		}
		if n := len(auditEvents(t, owner, "action="+vault.ActMFARecoveryUsed)); n != 2 {
			t.Errorf("recovery_used events = %d, want 2", n)
		}
	})
	t.Run("BothOrNeitherProofInvalid", func(t *testing.T) {
		ch := passwordStep(t, e, m)
		resp, b, _ := mfaStep(t, e, ch.Challenge, map[string]string{})
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
		resp, b, _ = mfaStep(t, e, ch.Challenge, map[string]string{"code": "123456", "recovery_code": m.recovery[5]})
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
	})
}
