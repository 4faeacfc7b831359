package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// oneTimeRE finds the one-time password on a page.
var oneTimeRE = regexp.MustCompile(`<output id="one-time-password">([^<]+)</output>`)

// TestUIAdmin_UserCreate creates a user on the users page: the one-time
// password is on that answer once (with Cache-Control: no-store) and
// opens the account, and it is on no later page, in no URL and in no log
// line of the server.
func TestUIAdmin_UserCreate(t *testing.T) {
	e := newEnv(t)
	f := newAdminFirm(t, e)

	a := f.adminP.post(t, "/admin/users", url.Values{"email": {"newbie@hale.example"}, "name": {"Nina " + adminHostile}, "role": {"lawyer"}})
	a.want(t, "create", http.StatusCreated, "One-time password", "newbie@hale.example", "Nina "+adminHostileEsc)
	a.lacks(t, "create", adminHostile)
	if got, want := a.Header.Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("create: Cache-Control %q, want %q", got, want)
	}
	m := oneTimeRE.FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("create: no one-time password on the page:\n%s", a.Body)
	}
	password := m[1]
	if got := strings.Count(a.Body, password); got != 1 {
		t.Errorf("create: the one-time password appears %d times, want 1", got)
	}
	users, err := e.Svc.Users(context.Background(), f.owner)
	if err != nil {
		t.Fatal(err)
	}
	var created *vault.User
	for _, u := range users {
		if u.Email == "newbie@hale.example" {
			created = u
		}
	}
	if created == nil || created.Role != vault.RoleLawyer || !created.MustChangePassword {
		t.Fatalf("created user %+v, want a lawyer who must change the password", created)
	}
	// The password opens the account (through the API: sign-in then asks
	// for a new password).
	e.login(t, "newbie@hale.example", password)

	for _, path := range []string{"/admin/users", "/admin/users/" + created.ID, "/admin/users?role=lawyer"} {
		a := f.adminP.get(t, path)
		a.want(t, path, http.StatusOK, "newbie@hale.example")
		a.lacks(t, path, password, "one-time-password")
	}
	if strings.Contains(e.Log.String(), password) {
		t.Error("server log: holds the one-time password")
	}
	if got, want := e.actions(t, f.owner), []string{vault.ActUserCreate + ":ok"}; !hasAll(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}

	// A refused creation shows the refusal, keeps what was typed and
	// creates nothing: an admin cannot add an owner, an email is taken.
	for _, tc := range []struct {
		form   url.Values
		status int
		text   string
	}{
		{url.Values{"email": {"boss@hale.example"}, "role": {"owner"}}, http.StatusForbidden, "Only an owner can add or promote owners."},
		{url.Values{"email": {"newbie@hale.example"}, "role": {"lawyer"}}, http.StatusConflict, "(conflict)"},
		{url.Values{"email": {"not an email"}, "role": {"lawyer"}}, http.StatusBadRequest, "(invalid)"},
	} {
		a := f.adminP.post(t, "/admin/users", tc.form)
		a.want(t, "refused create", tc.status, tc.text, `value="`+tc.form.Get("email")+`"`)
		a.lacks(t, "refused create", "one-time-password")
	}
	after, _ := e.Svc.Users(context.Background(), f.owner)
	if got, want := len(after), len(users); got != want {
		t.Errorf("after refusals: %d users, want %d", got, want)
	}
	// The admin's form offers no owner role; the owner's does.
	if sel := adminSelect(f.adminP.get(t, "/admin/users").Body, "new-role"); strings.Contains(sel, `"owner"`) || !strings.Contains(sel, `"admin"`) {
		t.Errorf("admin's role choices %q, want admin and no owner", sel)
	}
	if sel := adminSelect(f.ownerP.get(t, "/admin/users").Body, "new-role"); !strings.Contains(sel, `"owner"`) {
		t.Errorf("owner's role choices %q, want owner", sel)
	}
}

// TestUIAdmin_UserChanges changes a role, disables and enables, resets a
// password (shown once), and shows each refusal of the service with its
// message and code, changing nothing.
func TestUIAdmin_UserChanges(t *testing.T) {
	e := newEnv(t)
	f := newAdminFirm(t, e)
	ctx := context.Background()
	path := "/admin/users/" + f.lawyer.ID

	a := f.adminP.post(t, path+"/role", url.Values{"role": {"auditor"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("role change: %d, want 303", a.Status)
	}
	f.adminP.get(t, path+"?done=role").want(t, "after role change", http.StatusOK, "Role changed.", `<dd id="user-role">auditor</dd>`)
	f.adminP.post(t, path+"/disable", nil)
	if u, _ := e.Svc.User(ctx, f.owner, f.lawyer.ID); !u.Disabled {
		t.Fatal("disable: user still enabled")
	}
	if got := uiClientGet(t, f.lawyerP.hc, f.lawyerP.base+"/"); got != http.StatusSeeOther {
		t.Errorf("disabled user's session: home %d, want 303 to sign-in", got)
	}
	f.adminP.get(t, path).want(t, "disabled user", http.StatusOK, "Enable account", `<dd id="user-status">disabled`)
	f.adminP.post(t, path+"/enable", nil)
	if u, _ := e.Svc.User(ctx, f.owner, f.lawyer.ID); u.Disabled {
		t.Fatal("enable: user still disabled")
	}

	a = f.adminP.post(t, path+"/password-reset", nil)
	a.want(t, "reset", http.StatusOK, "Password reset")
	if got := a.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("reset: Cache-Control %q, want no-store", got)
	}
	m := oneTimeRE.FindStringSubmatch(a.Body)
	if m == nil || strings.Count(a.Body, m[1]) != 1 {
		t.Fatalf("reset: want the one-time password once:\n%s", a.Body)
	}
	f.adminP.get(t, path).lacks(t, "user page after reset", m[1], "one-time-password")
	f.adminP.get(t, "/admin/users").lacks(t, "users after reset", m[1])
	if strings.Contains(e.Log.String(), m[1]) {
		t.Error("server log: holds the reset password")
	}

	// Refusals: shown with message and code, nothing changes.
	before, _ := e.Svc.Users(ctx, f.owner)
	for _, tc := range []struct {
		who    *adminClient
		path   string
		form   url.Values
		status int
		text   string
	}{
		{f.adminP, "/admin/users/" + f.owner.ID + "/role", url.Values{"role": {"lawyer"}}, http.StatusForbidden, "Only an owner can change an owner."},
		{f.adminP, "/admin/users/" + f.owner.ID + "/disable", nil, http.StatusForbidden, "Only an owner can change an owner."},
		{f.adminP, "/admin/users/" + f.owner.ID + "/password-reset", nil, http.StatusForbidden, "(forbidden)"},
		{f.adminP, path + "/role", url.Values{"role": {"owner"}}, http.StatusForbidden, "Only an owner can add or promote owners."},
		{f.adminP, "/admin/users/" + f.admin.ID + "/disable", nil, http.StatusConflict, "You cannot disable your own account."},
		{f.ownerP, "/admin/users/" + f.owner.ID + "/role", url.Values{"role": {"admin"}}, http.StatusConflict, "A firm needs at least one enabled owner."},
		{f.ownerP, path + "/role", url.Values{"role": {"king"}}, http.StatusBadRequest, "(invalid)"},
	} {
		a := tc.who.post(t, tc.path, tc.form)
		a.want(t, tc.path, tc.status, tc.text, `id="form-error"`)
		a.lacks(t, tc.path, "one-time-password")
	}
	after, _ := e.Svc.Users(ctx, f.owner)
	for i := range before {
		if b, a := before[i], after[i]; b.Role != a.Role || b.Disabled != a.Disabled || b.PasswordHash != a.PasswordHash {
			t.Errorf("user %s changed by refused requests: %+v, want %+v", b.ID, a, b)
		}
	}
	// The owner may change the admin.
	if a := f.ownerP.post(t, "/admin/users/"+f.admin.ID+"/role", url.Values{"role": {"lawyer"}}); a.Status != http.StatusSeeOther {
		t.Errorf("owner demotes admin: %d, want 303", a.Status)
	}
}

// TestUIAdmin_UsersFilter filters the users list by role and status and
// links each user's page and activity report.
func TestUIAdmin_UsersFilter(t *testing.T) {
	e := newEnv(t)
	f := newAdminFirm(t, e)
	if _, err := e.Svc.UpdateUser(context.Background(), f.owner, f.colleague.ID, vault.UserUpdate{Disabled: adminPtr(true)}); err != nil {
		t.Fatal(err)
	}
	a := f.adminP.get(t, "/admin/users?role=lawyer")
	a.want(t, "lawyers", http.StatusOK, f.lawyer.Email, f.colleague.Email)
	a.lacks(t, "lawyers", f.owner.Email, f.auditor.Email)
	a = f.adminP.get(t, "/admin/users?status=disabled")
	a.want(t, "disabled", http.StatusOK, f.colleague.Email, "1 of 5 users")
	a.lacks(t, "disabled", f.lawyer.Email)
	a = f.adminP.get(t, "/admin/users?role=owner&status=disabled")
	a.want(t, "none", http.StatusOK, `id="no-users"`)
	f.adminP.get(t, "/admin/users?role=king").want(t, "bad role", http.StatusBadRequest, "invalid")
	f.adminP.get(t, "/admin/users/"+f.lawyer.ID).want(t, "user page", http.StatusOK, `href="/audit/users/`+f.lawyer.ID+`"`)
}

// adminPtr returns a pointer to v.
func adminPtr[T any](v T) *T { return &v }

// adminSelect returns the <select> with id in page, "" if none.
func adminSelect(page, id string) string {
	i := strings.Index(page, `<select id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], "</select>")
	return page[i : i+j]
}
