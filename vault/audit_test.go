package vault_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// audit returns the in-memory audit log under e's service.
func (e *env) audit(tb testing.TB) *vaulttest.MemAudit {
	tb.Helper()
	m, ok := e.Svc.Audit.(*vaulttest.MemAudit)
	if !ok {
		tb.Fatalf("audit log is %T", e.Svc.Audit)
	}
	return m
}

// TestService_AuditEvents checks that each action writes its event, with
// the actor, object, outcome and the details an auditor needs, and that
// names go only into the private part.
func TestService_AuditEvents(t *testing.T) {
	e := newEnv(t, nil)
	ctx := vault.WithRequestMeta(context.Background(), vault.RequestMeta{Source: "203.0.113.7", UserAgent: "test-agent/1"})
	al := e.audit(t)
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	other := e.user(t, owner.TenantID, vault.RoleLawyer)

	type want struct {
		action, objectType, objectID, outcome string
		details                               map[string]string
		private                               map[string]string
	}
	// last checks the events appended by one step, in order.
	seen := len(al.Events())
	step := func(name string, wants ...want) {
		t.Helper()
		evs := al.Events()[seen:]
		seen += len(evs)
		if len(evs) != len(wants) {
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Action)
			}
			t.Fatalf("%s: events %v, want %d", name, got, len(wants))
		}
		for i, w := range wants {
			ev := evs[i]
			if ev.Action != w.action || ev.ObjectType != w.objectType || (w.objectID != "" && ev.ObjectID != w.objectID) || ev.Outcome != w.outcome {
				t.Errorf("%s: event %d = %s %s %s %s, want %+v", name, i, ev.Action, ev.ObjectType, ev.ObjectID, ev.Outcome, w)
			}
			if ev.TenantID != owner.TenantID || ev.Time.IsZero() {
				t.Errorf("%s: event %d tenant %q time %v", name, i, ev.TenantID, ev.Time)
			}
			for k, v := range w.details {
				if ev.Details[k] != v {
					t.Errorf("%s: %s details[%s] = %q, want %q", name, ev.Action, k, ev.Details[k], v)
				}
			}
			for k, v := range w.private {
				if ev.Private[k] != v {
					t.Errorf("%s: %s private[%s] = %q, want %q", name, ev.Action, k, ev.Private[k], v)
				}
			}
			for k, v := range ev.Details {
				if strings.Contains(v, "Confidential") {
					t.Errorf("%s: a name leaked into details[%s] = %q", name, k, v)
				}
				// Emails and content types are private: the log seals them.
				if strings.Contains(v, "@") || strings.Contains(k, "email") || k == "content_type" {
					t.Errorf("%s: details[%s] = %q is not private", name, k, v)
				}
			}
		}
	}

	m, err := e.Svc.CreateMatter(ctx, lawyer, "Confidential Takeover", "Confidential Client")
	if err != nil {
		t.Fatal(err)
	}
	step("matter", want{vault.ActMatterCreate, "matter", m.ID, "ok", nil, map[string]string{"name": "Confidential Takeover", "client": "Confidential Client"}})
	if evs := al.Events(); evs[len(evs)-1].ActorID != lawyer.ID || evs[len(evs)-1].ActorEmail != lawyer.Email ||
		evs[len(evs)-1].Source != "203.0.113.7" || evs[len(evs)-1].UserAgent != "test-agent/1" {
		t.Errorf("actor and request metadata: %+v", evs[len(evs)-1])
	}

	d, err := e.Svc.PutDocument(ctx, lawyer, vault.NewDocument{MatterID: m.ID, Name: "Confidential SPA.pdf"}, strings.NewReader("share purchase"), -1)
	if err != nil {
		t.Fatal(err)
	}
	step("upload", want{vault.ActDocumentUpload, "document", d.ID, "ok", map[string]string{"matter_id": m.ID, "version": "1", "size": "14"}, map[string]string{"name": "Confidential SPA.pdf", "content_type": "application/octet-stream"}})
	if _, err := e.Svc.PutVersion(ctx, lawyer, d.ID, "", strings.NewReader("share purchase v2"), -1); err != nil {
		t.Fatal(err)
	}
	step("version", want{vault.ActDocumentVersion, "document", d.ID, "ok", map[string]string{"version": "2"}, nil})

	for _, c := range []struct {
		perm   vault.Permission
		action string
	}{{vault.PermRead, vault.ActDocumentView}, {vault.PermDownload, vault.ActDocumentDownload}} {
		content, err := e.Svc.OpenVersion(ctx, lawyer, d.ID, 0, c.perm)
		if err != nil {
			t.Fatal(err)
		}
		finish, err := content.Opened(ctx, 0, content.Version.Size)
		if err != nil {
			t.Fatal(err)
		}
		finish(content.Version.Size, nil)
		step(string(c.perm),
			want{c.action, "document", d.ID, "ok", map[string]string{"offset": "0", "length": "17", "version": "2"}, nil},
			want{vault.ActReadComplete, "document", d.ID, "ok", map[string]string{"bytes_sent": "17"}, nil})
	}
	content, err := e.Svc.OpenVersion(ctx, lawyer, d.ID, 1, vault.PermDownload)
	if err != nil {
		t.Fatal(err)
	}
	finish, err := content.Opened(ctx, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	finish(4, errors.New("client went away"))
	step("aborted download",
		want{vault.ActDocumentDownload, "document", d.ID, "ok", map[string]string{"offset": "2", "length": "10", "version": "1"}, nil},
		want{vault.ActReadAbort, "document", d.ID, "error", map[string]string{"bytes_sent": "4"}, nil})

	if _, err := e.Svc.RenameDocument(ctx, lawyer, d.ID, "Confidential SPA (signed).pdf"); err != nil {
		t.Fatal(err)
	}
	step("rename", want{vault.ActDocumentRename, "document", d.ID, "ok", nil, map[string]string{"old_name": "Confidential SPA.pdf", "name": "Confidential SPA (signed).pdf"}})
	m2, err := e.Svc.CreateMatter(ctx, lawyer, "Confidential Lease", "Confidential Landlord")
	if err != nil {
		t.Fatal(err)
	}
	step("matter 2", want{vault.ActMatterCreate, "matter", m2.ID, "ok", nil, nil})
	if _, err := e.Svc.MoveDocument(ctx, lawyer, d.ID, m2.ID); err != nil {
		t.Fatal(err)
	}
	step("move", want{vault.ActDocumentMove, "document", d.ID, "ok", map[string]string{"matter_id": m.ID, "to_matter_id": m2.ID}, nil})
	if _, err := e.Svc.TrashDocument(ctx, lawyer, d.ID); err != nil {
		t.Fatal(err)
	}
	step("trash", want{vault.ActDocumentTrash, "document", d.ID, "ok", nil, nil})
	if _, err := e.Svc.RestoreDocument(ctx, lawyer, d.ID); err != nil {
		t.Fatal(err)
	}
	step("restore", want{vault.ActDocumentRestore, "document", d.ID, "ok", nil, nil})

	exp := e.clock.Now().Add(time.Hour)
	g, _, err := e.Svc.CreateGrant(ctx, lawyer, vault.NewGrant{UserID: other.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	step("grant", want{vault.ActGrantCreate, "grant", g.ID, "ok", map[string]string{"user_id": other.ID, "document_id": d.ID, "permissions": "read", "matter_id": m2.ID}, nil})
	if _, err := e.Svc.RevokeGrant(ctx, lawyer, g.ID); err != nil {
		t.Fatal(err)
	}
	step("revoke", want{vault.ActGrantRevoke, "grant", g.ID, "ok", map[string]string{"user_id": other.ID}, nil})

	_, err = e.Svc.OpenVersion(ctx, other, d.ID, 0, vault.PermDownload)
	wantCode(t, err, vault.EFORBIDDEN)
	step("denied", want{vault.ActAccessDenied, "document", d.ID, "denied", map[string]string{"permission": "download"}, nil})

	e.clock.Add(time.Second) // a wall is lifted only by an account older than it
	if _, _, err := e.Svc.AddWall(ctx, owner, m2.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	step("wall", want{vault.ActWallAdd, "matter", m2.ID, "ok", map[string]string{"user_id": other.ID}, nil})
	_, err = e.Svc.Matter(ctx, other, m2.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	step("walled matter", want{vault.ActAccessDenied, "matter", m2.ID, "denied", nil, nil})
	if err := e.Svc.RemoveWall(ctx, owner, m2.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	step("unwall", want{vault.ActWallRemove, "matter", m2.ID, "ok", map[string]string{"user_id": other.ID}, nil})

	u, _, err := e.Svc.CreateUser(ctx, owner, vault.NewUser{Email: "clerk@harbour.example", Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	step("user", want{vault.ActUserCreate, "user", u.ID, "ok", map[string]string{"role": "lawyer"}, map[string]string{"email": "clerk@harbour.example"}})
	if _, err := e.Svc.UpdateUser(ctx, owner, u.ID, vault.UserUpdate{Role: ptr(vault.RoleAdmin)}); err != nil {
		t.Fatal(err)
	}
	step("role", want{vault.ActUserRoleChange, "user", u.ID, "ok", map[string]string{"old_role": "lawyer", "role": "admin"}, map[string]string{"email": "clerk@harbour.example"}})
	if _, err := e.Svc.UpdateUser(ctx, owner, u.ID, vault.UserUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	step("disable", want{vault.ActUserDisable, "user", u.ID, "ok", nil, nil})

	if _, err := e.Svc.UpdateUser(ctx, owner, u.ID, vault.UserUpdate{Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	step("enable", want{vault.ActUserEnable, "user", u.ID, "ok", nil, nil})
	if _, err := e.Svc.UpdateUser(ctx, owner, u.ID, vault.UserUpdate{Name: ptr("Clerk Two")}); err != nil {
		t.Fatal(err)
	}
	step("rename user", want{vault.ActUserUpdate, "user", u.ID, "ok", map[string]string{"name_changed": "true"}, nil})
	if err := e.Svc.ChangePassword(ctx, lawyer, "wrong current", "a brand new passphrase"); vault.ErrorCode(err) != vault.EFORBIDDEN {
		t.Fatalf("ChangePassword with a wrong current password: %v", err)
	}
	step("refused password change", want{vault.ActUserPassword, "user", lawyer.ID, "denied", map[string]string{"reason": "bad_current_password"}, nil})
	if err := e.Svc.ChangePassword(ctx, other, "", "another new passphrase"); err == nil {
		t.Fatal("ChangePassword with no current password succeeded")
	}
	seen = len(al.Events())

	_, tok, err := e.Svc.Login(ctx, lawyer.Email, "wrong password", "203.0.113.7")
	wantCode(t, err, vault.EUNAUTHORIZED)
	_ = tok
	step("failed login", want{vault.ActLoginFailed, "user", lawyer.ID, "denied", map[string]string{"reason": "bad_credentials"}, nil})

	if err := e.Svc.RotateKeys(ctx, owner.TenantID); err != nil {
		t.Fatal(err)
	}
	step("rotate", want{vault.ActKeysRotate, "tenant", owner.TenantID, "ok", nil, nil})
	if evs := al.Events(); evs[len(evs)-1].ActorID != vault.ActorOperator {
		t.Errorf("rotation actor = %q", evs[len(evs)-1].ActorID)
	}
	// Operator commands: a user added from the command line, a firm created.
	added, _, err := e.Svc.AddUser(ctx, owner.TenantID, vault.NewUser{Email: "cli@harbour.example", Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	step("operator user", want{vault.ActUserCreate, "user", added.ID, "ok", nil, map[string]string{"email": "cli@harbour.example"}})
	t2, o2, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "North LLP", Region: "ca", Owner: vault.NewUser{Email: "owner@north.example"}})
	if err != nil {
		t.Fatal(err)
	}
	evs := al.Events()
	if ev := evs[len(evs)-1]; ev.Action != vault.ActTenantCreate || ev.TenantID != t2.ID || ev.ActorID != vault.ActorOperator || ev.Details["owner_id"] != o2.ID ||
		ev.Private["owner_email"] != "owner@north.example" || ev.Details["owner_email"] != "" {
		t.Errorf("tenant.create event = %+v", ev)
	}
}

// TestService_AuditFailClosed checks that when the audit log cannot be
// written nothing happens: no document, no version, no read, no grant.
func TestService_AuditFailClosed(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	al := e.audit(t)
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	other := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := e.matter(t, lawyer, "Estate")
	d := e.put(t, lawyer, m.ID, "will.pdf", []byte("last will"))
	blobs := func() int {
		n := 0
		for _, st := range e.Stores {
			if err := st.List(ctx, "", func(vault.BlobInfo) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	before := blobs()

	al.Fail(errors.New("disk full"))
	_, err := e.Svc.PutDocument(ctx, lawyer, vault.NewDocument{MatterID: m.ID, Name: "new.pdf"}, bytes.NewReader([]byte("new")), 3)
	wantCode(t, err, vault.EUNAVAILABLE)
	_, err = e.Svc.PutVersion(ctx, lawyer, d.ID, "", bytes.NewReader([]byte("v2")), 2)
	wantCode(t, err, vault.EUNAVAILABLE)
	c, err := e.Svc.OpenVersion(ctx, lawyer, d.ID, 0, vault.PermDownload)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Opened(ctx, 0, c.Version.Size)
	wantCode(t, err, vault.EUNAVAILABLE)
	_, _, err = e.Svc.CreateGrant(ctx, lawyer, vault.NewGrant{UserID: other.ID, DocumentID: d.ID, Permissions: read})
	wantCode(t, err, vault.EUNAVAILABLE)
	_, err = e.Svc.RenameDocument(ctx, lawyer, d.ID, "x.pdf")
	wantCode(t, err, vault.EUNAVAILABLE)
	_, _, err = e.Svc.AddWall(ctx, owner, m.ID, other.ID)
	wantCode(t, err, vault.EUNAVAILABLE)
	// A refusal that cannot be recorded is not a silent refusal either.
	_, err = e.Svc.OpenVersion(ctx, other, d.ID, 0, vault.PermRead)
	wantCode(t, err, vault.EUNAVAILABLE)
	al.Fail(nil)

	docs, err := e.Svc.Documents(ctx, lawyer, m.ID, true)
	if err != nil || len(docs) != 1 || docs[0].CurrentVersion != 1 || docs[0].Name != "will.pdf" {
		t.Fatalf("documents after failed actions: %+v, %v", docs, err)
	}
	if gs, err := e.Svc.Grants(ctx, owner, vault.GrantFilter{}); err != nil || len(gs) != 0 {
		t.Fatalf("grants after failed grant: %d, %v", len(gs), err)
	}
	if ws, err := e.Svc.Walls(ctx, owner, m.ID); err != nil || len(ws) != 0 {
		t.Fatalf("walls after failed wall: %d, %v", len(ws), err)
	}
	if n := blobs(); n != before {
		t.Fatalf("blobs: %d, want %d", n, before)
	}
	pending, err := e.DB.PendingBlobs(ctx, e.clock.Now().Add(time.Hour))
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending blobs: %+v, %v", pending, err)
	}
	got, err := e.read(t, lawyer, d.ID, 0, 0, -1)
	if err != nil || !bytes.Equal(got, []byte("last will")) {
		t.Fatalf("document after: %q, %v", got, err)
	}
}

// TestService_RecordExpiries checks that each expired grant is recorded
// once, after its expiry, and revoked ones never.
func TestService_RecordExpiries(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	al := e.audit(t)
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := e.matter(t, owner, "Estate")
	d := e.put(t, owner, m.ID, "will.pdf", []byte("will"))
	soon, later := e.clock.Now().Add(time.Minute), e.clock.Now().Add(time.Hour)
	g1 := e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &soon})
	g2 := e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, MatterID: m.ID, Permissions: read, ExpiresAt: &soon})
	g3 := e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: d.ID, Permissions: rde, ExpiresAt: &later})
	other := e.user(t, owner.TenantID, vault.RoleLawyer)
	revoked := e.grant(t, owner, vault.NewGrant{UserID: other.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &soon})
	if _, err := e.Svc.RevokeGrant(ctx, owner, revoked.ID); err != nil {
		t.Fatal(err)
	}
	expired := func() []string {
		var ids []string
		for _, ev := range al.Events() {
			if ev.Action == vault.ActGrantExpire {
				ids = append(ids, ev.ObjectID)
				if ev.Details["matter_id"] != m.ID || ev.Details["expires_at"] == "" || ev.TenantID != owner.TenantID {
					t.Errorf("expiry event %+v", ev)
				}
			}
		}
		return ids
	}
	if n, err := e.Svc.RecordExpiries(ctx); err != nil || n != 0 {
		t.Fatalf("before expiry: %d, %v", n, err)
	}
	e.clock.Add(time.Minute)
	if n, err := e.Svc.RecordExpiries(ctx); err != nil || n != 2 {
		t.Fatalf("at expiry: %d, %v", n, err)
	}
	if n, err := e.Svc.RecordExpiries(ctx); err != nil || n != 0 {
		t.Fatalf("again: %d, %v", n, err)
	}
	if got := expired(); len(got) != 2 || !slices.Contains(got, g1.ID) || !slices.Contains(got, g2.ID) {
		t.Fatalf("expired = %v, want %s %s", got, g1.ID, g2.ID)
	}
	e.clock.Add(time.Hour)
	if n, err := e.Svc.RecordExpiries(ctx); err != nil || n != 1 || expired()[2] != g3.ID {
		t.Fatalf("later: %d, %v", n, err)
	}
	// With the log down, nothing is marked: the expiry is recorded later.
	exp := e.clock.Now().Add(time.Second)
	g4 := e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &exp})
	e.clock.Add(time.Second)
	al.Fail(errors.New("disk full"))
	_, err := e.Svc.RecordExpiries(ctx)
	wantCode(t, err, vault.EUNAVAILABLE)
	al.Fail(nil)
	if n, err := e.Svc.RecordExpiries(ctx); err != nil || n != 1 || expired()[3] != g4.ID {
		t.Fatalf("after the log healed: %d, %v", n, err)
	}
}

// TestService_AuditServiceLog checks that sign-in failures of accounts that
// do not exist go to the service log (no firm), with the email tried in
// the private part (of which the log keeps only a keyed hash).
func TestService_AuditServiceLog(t *testing.T) {
	e := newEnv(t, nil)
	al := e.audit(t)
	ctx := vault.WithRequestMeta(context.Background(), vault.RequestMeta{Source: "198.51.100.9"})
	_, _, err := e.Svc.Login(ctx, "Nobody@Example.com", "whatever it is", "198.51.100.9")
	wantCode(t, err, vault.EUNAUTHORIZED)
	evs := al.Events()
	ev := evs[len(evs)-1]
	if ev.Action != vault.ActLoginFailed || ev.TenantID != "" || ev.Outcome != vault.OutcomeDenied ||
		ev.Private["email"] != "nobody@example.com" || ev.Details["email"] != "" || ev.Details["reason"] != "bad_credentials" ||
		ev.Source != "198.51.100.9" {
		t.Fatalf("failed sign-in event = %+v", ev)
	}
	// With the log down, a sign-in attempt is refused rather than
	// unrecorded.
	al.Fail(errors.New("disk full"))
	_, _, err = e.Svc.Login(ctx, "nobody@example.com", "whatever it is", "198.51.100.9")
	wantCode(t, err, vault.EUNAVAILABLE)
}

// TestService_UpdateDocumentAtomic checks that a rename and a move given
// together happen together or not at all.
func TestService_UpdateDocumentAtomic(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	al := e.audit(t)
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	a, b, walled := e.matter(t, lawyer, "A"), e.matter(t, lawyer, "B"), e.matter(t, owner, "Walled")
	if _, _, err := e.Svc.AddWall(ctx, owner, walled.ID, lawyer.ID); err != nil {
		t.Fatal(err)
	}
	d := e.put(t, lawyer, a.ID, "brief.pdf", []byte("brief"))
	name := "brief (final).pdf"

	// Into a matter the lawyer is walled off: neither change happens.
	_, err := e.Svc.UpdateDocument(ctx, lawyer, d.ID, vault.DocumentUpdate{Name: &name, MatterID: &walled.ID})
	wantCode(t, err, vault.EFORBIDDEN)
	got, err := e.Svc.Document(ctx, lawyer, d.ID)
	if err != nil || got.Name != "brief.pdf" || got.MatterID != a.ID {
		t.Fatalf("after a refused update: %+v, %v", got, err)
	}
	// With the log down: neither.
	al.Fail(errors.New("disk full"))
	_, err = e.Svc.UpdateDocument(ctx, lawyer, d.ID, vault.DocumentUpdate{Name: &name, MatterID: &b.ID})
	wantCode(t, err, vault.EUNAVAILABLE)
	al.Fail(nil)
	if got, _ := e.Svc.Document(ctx, lawyer, d.ID); got.Name != "brief.pdf" || got.MatterID != a.ID {
		t.Fatalf("after an unrecorded update: %+v", got)
	}
	// Both at once, one event each.
	before := len(al.Events())
	up, err := e.Svc.UpdateDocument(ctx, lawyer, d.ID, vault.DocumentUpdate{Name: &name, MatterID: &b.ID})
	if err != nil || up.Name != name || up.MatterID != b.ID {
		t.Fatalf("update: %+v, %v", up, err)
	}
	evs := al.Events()[before:]
	if len(evs) != 2 || evs[0].Action != vault.ActDocumentRename || evs[1].Action != vault.ActDocumentMove ||
		evs[1].Details["to_matter_id"] != b.ID || evs[1].Private["name"] != name {
		t.Fatalf("events: %+v", evs)
	}
	_, err = e.Svc.UpdateDocument(ctx, lawyer, d.ID, vault.DocumentUpdate{})
	wantCode(t, err, vault.EINVALID)
}

// TestService_AuditRateLimitedOnce checks that hammering a blocked sign-in
// adds one event per block, not one per attempt.
func TestService_AuditRateLimitedOnce(t *testing.T) {
	e := newEnv(t, nil)
	al := e.audit(t)
	ctx := context.Background()
	limited := 0
	for range 60 {
		_, _, err := e.Svc.Login(ctx, "nobody@example.com", "not the password", "198.51.100.7")
		if vault.ErrorCode(err) == vault.ERATELIMITED {
			limited++
		}
	}
	if limited < 10 {
		t.Fatalf("only %d of 60 attempts were rate limited", limited)
	}
	n := 0
	for _, ev := range al.Events() {
		if ev.Details["reason"] == "rate_limited" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d rate_limited events for one block, want 1", n)
	}
}
