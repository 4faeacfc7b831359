package vault_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestService_NamesRefused covers the names that have no HTTP route of
// their own in the web tests (firm names, owners' names, the operator's
// user command) and emails: each refuses bidirectional controls and
// invisible characters, naming the character.
func TestService_NamesRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tenant, _ := e.firm(t, "Firm", "us")
	for _, r := range []rune{'\u202E', '\u2067', '\u200F', '\u061C', '\u200B', '\u200D', '\uFEFF', '\u00AD', '\u3164', '\U000E0041'} {
		bad := "Pine" + string(r) + "gpj.exe"
		for what, call := range map[string]func() error{
			"FirmName": func() error {
				_, _, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: bad, Region: "us", Owner: vault.NewUser{Email: "o@a.example"}})
				return err
			},
			"OwnerName": func() error {
				_, _, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Fine", Region: "us", Owner: vault.NewUser{Email: "o@b.example", Name: bad}})
				return err
			},
			"UserName": func() error {
				_, _, err := e.Svc.AddUser(ctx, tenant.ID, vault.NewUser{Email: "u@c.example", Name: bad, Role: vault.RoleLawyer})
				return err
			},
			"Email": func() error {
				_, _, err := e.Svc.AddUser(ctx, tenant.ID, vault.NewUser{Email: "u" + string(r) + "@d.example", Role: vault.RoleLawyer})
				return err
			},
		} {
			err := call()
			wantCode(t, err, vault.EINVALID)
			if what != "Email" && !strings.Contains(vault.ErrorMessage(err), fmt.Sprintf("%U", r)) {
				t.Errorf("%s with %U: message %q does not name it", what, r, vault.ErrorMessage(err))
			}
		}
	}
	if ts, err := e.Svc.Tenants(ctx); err != nil || len(ts) != 1 {
		t.Fatalf("tenants = %d, %v; want only the first", len(ts), err)
	}
}
