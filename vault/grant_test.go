package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

var (
	rde  = []vault.Permission{vault.PermRead, vault.PermDownload, vault.PermEdit}
	read = []vault.Permission{vault.PermRead}
)

// can reports whether actor may open document id with perm.
func (e *env) can(tb testing.TB, actor *vault.User, id string, perm vault.Permission) bool {
	tb.Helper()
	_, err := e.Svc.OpenVersion(context.Background(), actor, id, 0, perm)
	switch vault.ErrorCode(err) {
	case "":
		return true
	case vault.EFORBIDDEN:
		return false
	}
	tb.Fatalf("OpenVersion: %v", err)
	return false
}

func (e *env) grant(tb testing.TB, actor *vault.User, ng vault.NewGrant) *vault.Grant {
	tb.Helper()
	g, _, err := e.Svc.CreateGrant(context.Background(), actor, ng)
	if err != nil {
		tb.Fatalf("CreateGrant(%+v): %v", ng, err)
	}
	return g
}

func TestService_CreateGrant(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	colleague := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := e.matter(t, lawyer, "Estate")
	d := e.put(t, lawyer, m.ID, "will.pdf", []byte("last will"))

	t.Run("Idempotent", func(t *testing.T) {
		g1, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: []vault.Permission{vault.PermDownload, vault.PermRead, vault.PermRead}})
		if err != nil || !created {
			t.Fatalf("first grant: %v, created %v", err, created)
		}
		if got := vault.FormatPermissions(g1.Permissions); got != "read,download" {
			t.Fatalf("permissions = %q", got)
		}
		// The same, or less, again: the same grant.
		for _, ps := range [][]vault.Permission{{vault.PermRead, vault.PermDownload}, read} {
			g2, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: ps})
			if err != nil || created || g2.ID != g1.ID {
				t.Fatalf("re-grant %v: %v, created %v, id %s want %s", ps, err, created, g2.ID, g1.ID)
			}
		}
		// More is a new grant; so is a matter grant.
		g3, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: rde})
		if err != nil || !created || g3.ID == g1.ID {
			t.Fatalf("wider grant: %v, created %v", err, created)
		}
		g4, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: colleague.ID, MatterID: m.ID, Permissions: read})
		if err != nil || !created || g4.MatterID != m.ID || g4.DocumentID != "" {
			t.Fatalf("matter grant: %+v, %v, created %v", g4, err, created)
		}
		// A time-limited grant is covered by an unlimited one, not the
		// other way round.
		exp := e.clock.Now().Add(time.Hour)
		g5, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: colleague.ID, MatterID: m.ID, Permissions: read, ExpiresAt: &exp})
		if err != nil || created || g5.ID != g4.ID {
			t.Fatalf("shorter grant: %v, created %v", err, created)
		}
		// After revocation the same grant is made anew.
		if _, err := e.Svc.RevokeGrant(ctx, owner, g4.ID); err != nil {
			t.Fatal(err)
		}
		g6, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: colleague.ID, MatterID: m.ID, Permissions: read})
		if err != nil || !created || g6.ID == g4.ID {
			t.Fatalf("grant after revoke: %v, created %v", err, created)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		auditor := e.user(t, owner.TenantID, vault.RoleAuditor)
		disabled := e.user(t, owner.TenantID, vault.RoleLawyer)
		if _, err := e.Svc.UpdateUser(ctx, owner, disabled.ID, vault.UserUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		_, stranger := e.firm(t, "Other LLP", "us")
		past := e.clock.Now().Add(-time.Second)
		now := e.clock.Now()
		for _, c := range []struct {
			name string
			ng   vault.NewGrant
			code string
		}{
			{"NoPermissions", vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID}, vault.EINVALID},
			{"UnknownPermission", vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: []vault.Permission{"admin"}}, vault.EINVALID},
			{"Both", vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, MatterID: m.ID, Permissions: read}, vault.EINVALID},
			{"Neither", vault.NewGrant{UserID: colleague.ID, Permissions: read}, vault.EINVALID},
			{"PastExpiry", vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &past}, vault.EINVALID},
			{"ExpiryNow", vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &now}, vault.EINVALID},
			{"ToAuditor", vault.NewGrant{UserID: auditor.ID, DocumentID: d.ID, Permissions: read}, vault.EINVALID},
			{"ToDisabled", vault.NewGrant{UserID: disabled.ID, DocumentID: d.ID, Permissions: read}, vault.ECONFLICT},
			{"ToOtherFirm", vault.NewGrant{UserID: stranger.ID, DocumentID: d.ID, Permissions: read}, vault.ENOTFOUND},
			{"UnknownUser", vault.NewGrant{UserID: vault.NewID(vault.PrefixUser), DocumentID: d.ID, Permissions: read}, vault.ENOTFOUND},
			{"UnknownDocument", vault.NewGrant{UserID: colleague.ID, DocumentID: vault.NewID(vault.PrefixDocument), Permissions: read}, vault.ENOTFOUND},
			{"GarbageDocument", vault.NewGrant{UserID: colleague.ID, DocumentID: "../../etc", Permissions: read}, vault.ENOTFOUND},
			{"ToUploader", vault.NewGrant{UserID: lawyer.ID, DocumentID: d.ID, Permissions: read}, vault.EINVALID},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := e.Svc.CreateGrant(ctx, owner, c.ng)
				wantCode(t, err, c.code)
			})
		}
		// Another firm's owner cannot grant on this firm's document, to
		// anyone: it does not exist for them.
		_, _, err := e.Svc.CreateGrant(ctx, stranger, vault.NewGrant{UserID: stranger.ID, DocumentID: d.ID, Permissions: read})
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("Lawyers", func(t *testing.T) {
		other := e.user(t, owner.TenantID, vault.RoleLawyer)
		od := e.put(t, other, m.ID, "brief.pdf", []byte("brief"))
		// A lawyer shares what they uploaded, not what they were given.
		e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: od.ID, Permissions: rde})
		_, _, err := e.Svc.CreateGrant(ctx, lawyer, vault.NewGrant{UserID: colleague.ID, DocumentID: od.ID, Permissions: read})
		wantCode(t, err, vault.EFORBIDDEN)
		_, _, err = e.Svc.CreateGrant(ctx, lawyer, vault.NewGrant{UserID: colleague.ID, MatterID: m.ID, Permissions: read})
		wantCode(t, err, vault.EFORBIDDEN)
		g := e.grant(t, lawyer, vault.NewGrant{UserID: other.ID, DocumentID: d.ID, Permissions: read})
		if g.CreatedBy != lawyer.ID {
			t.Fatalf("created by %s", g.CreatedBy)
		}
		// A lawyer revokes their own grants only.
		og := e.grant(t, owner, vault.NewGrant{UserID: other.ID, DocumentID: d.ID, Permissions: rde})
		_, err = e.Svc.RevokeGrant(ctx, lawyer, og.ID)
		wantCode(t, err, vault.EFORBIDDEN)
		if _, err := e.Svc.RevokeGrant(ctx, lawyer, g.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.Svc.RevokeGrant(ctx, lawyer, g.ID)
		wantCode(t, err, vault.ECONFLICT)
		// A lawyer lists the grants they made and those made to them.
		gs, err := e.Svc.Grants(ctx, lawyer, vault.GrantFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range gs {
			if x.UserID != lawyer.ID && x.CreatedBy != lawyer.ID {
				t.Errorf("lawyer sees grant %+v", x)
			}
		}
		if len(gs) < 2 {
			t.Errorf("lawyer sees %d grants", len(gs))
		}
	})

	t.Run("AuditorsAndDisabled", func(t *testing.T) {
		auditor := e.user(t, owner.TenantID, vault.RoleAuditor)
		_, _, err := e.Svc.CreateGrant(ctx, auditor, vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: read})
		wantCode(t, err, vault.EFORBIDDEN)
		gs, err := e.Svc.Grants(ctx, auditor, vault.GrantFilter{DocumentID: d.ID})
		if err != nil || len(gs) == 0 {
			t.Fatalf("auditor lists %d grants: %v", len(gs), err)
		}
		_, err = e.Svc.RevokeGrant(ctx, auditor, gs[0].ID)
		wantCode(t, err, vault.EFORBIDDEN)
		off := *lawyer
		off.Disabled = true
		_, _, err = e.Svc.CreateGrant(ctx, &off, vault.NewGrant{UserID: colleague.ID, DocumentID: d.ID, Permissions: read})
		wantCode(t, err, vault.EFORBIDDEN)
	})
}

func TestService_GrantExpiry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	reader := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := e.matter(t, lawyer, "Estate")
	d := e.put(t, lawyer, m.ID, "will.pdf", []byte("last will"))
	exp := e.clock.Now().Add(30 * time.Minute)
	g := e.grant(t, owner, vault.NewGrant{UserID: reader.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &exp})

	e.clock.Add(30*time.Minute - time.Nanosecond)
	if !e.can(t, reader, d.ID, vault.PermRead) {
		t.Fatal("denied a nanosecond before expiry")
	}
	e.clock.Add(time.Nanosecond)
	if e.can(t, reader, d.ID, vault.PermRead) {
		t.Fatal("allowed at the expiry instant")
	}
	if docs, err := e.Svc.Documents(ctx, reader, m.ID, false); err != nil || len(docs) != 0 {
		t.Fatalf("listing after expiry: %d documents, %v", len(docs), err)
	}
	gs, err := e.Svc.Grants(ctx, owner, vault.GrantFilter{DocumentID: d.ID})
	if err != nil || len(gs) != 1 || gs[0].ID != g.ID || gs[0].Status(e.clock.Now()) != vault.GrantExpired {
		t.Fatalf("grants after expiry: %+v, %v", gs, err)
	}
	// The same grant again is a new, active grant.
	exp2 := e.clock.Now().Add(time.Hour)
	if _, created, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: reader.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &exp2}); err != nil || !created {
		t.Fatalf("re-grant after expiry: %v, created %v", err, created)
	}
	if !e.can(t, reader, d.ID, vault.PermRead) {
		t.Fatal("denied after re-grant")
	}
}

func TestService_Walls(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Harbour LLP", "us")
	admin := e.user(t, owner.TenantID, vault.RoleAdmin)
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := e.matter(t, lawyer, "Takeover")
	other := e.matter(t, lawyer, "Lease")
	own := e.put(t, lawyer, m.ID, "own.pdf", []byte("own"))
	given := e.put(t, admin, m.ID, "given.pdf", []byte("given"))
	e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: given.ID, Permissions: rde})
	e.grant(t, owner, vault.NewGrant{UserID: lawyer.ID, MatterID: m.ID, Permissions: read})

	e.clock.Add(time.Second) // a wall is lifted only by an account older than it
	w, created, err := e.Svc.AddWall(ctx, admin, m.ID, lawyer.ID)
	if err != nil || !created || w.CreatedBy != admin.ID {
		t.Fatalf("AddWall: %+v, %v, created %v", w, err, created)
	}
	if _, created, err := e.Svc.AddWall(ctx, owner, m.ID, lawyer.ID); err != nil || created {
		t.Fatalf("AddWall again: %v, created %v", err, created)
	}
	for _, id := range []string{own.ID, given.ID} {
		for _, p := range rde {
			if e.can(t, lawyer, id, p) {
				t.Errorf("walled lawyer may %s %s", p, id)
			}
		}
		_, err := e.Svc.Document(ctx, lawyer, id)
		wantCode(t, err, vault.EFORBIDDEN)
		_, err = e.Svc.RenameDocument(ctx, lawyer, id, "x.pdf")
		wantCode(t, err, vault.EFORBIDDEN)
	}
	_, err = e.Svc.Matter(ctx, lawyer, m.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	_, err = e.Svc.Documents(ctx, lawyer, m.ID, false)
	wantCode(t, err, vault.EFORBIDDEN)
	ms, err := e.Svc.Matters(ctx, lawyer, false)
	if err != nil || len(ms) != 1 || ms[0].ID != other.ID {
		t.Fatalf("walled lawyer's matters: %+v, %v", ms, err)
	}
	docs, err := e.Svc.Documents(ctx, lawyer, "", false)
	if err != nil || len(docs) != 0 {
		t.Fatalf("walled lawyer's firm-wide listing: %d, %v", len(docs), err)
	}
	// No uploads into the matter, no moves into it, no new grants there.
	_, err = e.Svc.PutDocument(ctx, lawyer, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"}, nil, 0)
	wantCode(t, err, vault.EFORBIDDEN)
	elsewhere := e.put(t, lawyer, other.ID, "elsewhere.pdf", []byte("x"))
	_, err = e.Svc.MoveDocument(ctx, lawyer, elsewhere.ID, m.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	_, _, err = e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: own.ID, Permissions: read})
	wantCode(t, err, vault.ECONFLICT)
	// A walled admin manages nothing on that matter.
	if _, _, err := e.Svc.AddWall(ctx, owner, m.ID, admin.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.Svc.CreateGrant(ctx, admin, vault.NewGrant{UserID: owner.ID, DocumentID: given.ID, Permissions: read})
	wantCode(t, err, vault.EFORBIDDEN)
	_, _, err = e.Svc.AddWall(ctx, admin, m.ID, owner.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	_, err = e.Svc.DocumentAccess(ctx, admin, given.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	// ... and sees no grants behind the wall, neither asked for nor listed.
	_, err = e.Svc.Grants(ctx, admin, vault.GrantFilter{DocumentID: given.ID})
	wantCode(t, err, vault.EFORBIDDEN)
	_, err = e.Svc.Grants(ctx, admin, vault.GrantFilter{MatterID: m.ID})
	wantCode(t, err, vault.EFORBIDDEN)
	if gs, err := e.Svc.Grants(ctx, admin, vault.GrantFilter{}); err != nil || len(gs) != 0 {
		t.Fatalf("walled admin lists %d grants, %v", len(gs), err)
	}
	if gs, err := e.Svc.Grants(ctx, owner, vault.GrantFilter{}); err != nil || len(gs) != 2 {
		t.Fatalf("owner lists %d grants, %v", len(gs), err)
	}
	// Nobody walls themselves (nobody could lift it); a user id is required.
	_, _, err = e.Svc.AddWall(ctx, owner, other.ID, owner.ID)
	wantCode(t, err, vault.EINVALID)
	_, _, err = e.Svc.AddWall(ctx, owner, other.ID, "")
	wantCode(t, err, vault.EINVALID)
	_, _, err = e.Svc.CreateGrant(ctx, owner, vault.NewGrant{DocumentID: own.ID, Permissions: read})
	wantCode(t, err, vault.EINVALID)
	if e.can(t, admin, given.ID, vault.PermRead) {
		t.Error("walled uploader (admin) may read")
	}
	// Lawyers do not manage walls; auditors may list them.
	_, _, err = e.Svc.AddWall(ctx, lawyer, other.ID, admin.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	auditor := e.user(t, owner.TenantID, vault.RoleAuditor)
	ws, err := e.Svc.Walls(ctx, auditor, m.ID)
	if err != nil || len(ws) != 2 {
		t.Fatalf("auditor lists walls: %d, %v", len(ws), err)
	}
	_, err = e.Svc.Walls(ctx, lawyer, other.ID)
	wantCode(t, err, vault.EFORBIDDEN)

	// Lifting the wall brings back the grants that are still active.
	if err := e.Svc.RemoveWall(ctx, owner, m.ID, lawyer.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.Svc.RemoveWall(ctx, owner, m.ID, lawyer.ID), vault.ENOTFOUND)
	if !e.can(t, lawyer, own.ID, vault.PermEdit) || !e.can(t, lawyer, given.ID, vault.PermDownload) {
		t.Fatal("access not restored when the wall was lifted")
	}
	// Another firm's matter and users do not exist.
	_, stranger := e.firm(t, "Other LLP", "ca")
	_, _, err = e.Svc.AddWall(ctx, stranger, m.ID, stranger.ID)
	wantCode(t, err, vault.ENOTFOUND)
	_, _, err = e.Svc.AddWall(ctx, owner, m.ID, stranger.ID)
	wantCode(t, err, vault.ENOTFOUND)
}

func TestService_MoveAndMatterGrants(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	reader := e.user(t, owner.TenantID, vault.RoleLawyer)
	a := e.matter(t, lawyer, "A")
	b := e.matter(t, lawyer, "B")
	e.grant(t, owner, vault.NewGrant{UserID: reader.ID, MatterID: a.ID, Permissions: read})
	// A matter grant covers documents uploaded after it.
	d := e.put(t, lawyer, a.ID, "later.pdf", []byte("later"))
	if !e.can(t, reader, d.ID, vault.PermRead) || e.can(t, reader, d.ID, vault.PermDownload) {
		t.Fatal("matter grant does not cover a later document exactly")
	}
	// Moved out of the matter, the document leaves the grant's reach.
	if _, err := e.Svc.MoveDocument(ctx, lawyer, d.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if e.can(t, reader, d.ID, vault.PermRead) {
		t.Fatal("matter grant still covers a document moved out")
	}
}

func TestService_DocumentAccess(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Harbour LLP", "us")
	lawyer := e.user(t, owner.TenantID, vault.RoleLawyer)
	byDoc := e.user(t, owner.TenantID, vault.RoleLawyer)
	byMatter := e.user(t, owner.TenantID, vault.RoleAdmin)
	walled := e.user(t, owner.TenantID, vault.RoleLawyer)
	demoted := e.user(t, owner.TenantID, vault.RoleLawyer)
	m := e.matter(t, lawyer, "Takeover")
	d := e.put(t, lawyer, m.ID, "sha.pdf", []byte("shareholders' agreement"))
	exp := e.clock.Now().Add(time.Hour)
	gd := e.grant(t, lawyer, vault.NewGrant{UserID: byDoc.ID, DocumentID: d.ID, Permissions: read, ExpiresAt: &exp})
	gm := e.grant(t, owner, vault.NewGrant{UserID: byMatter.ID, MatterID: m.ID, Permissions: rde})
	e.grant(t, owner, vault.NewGrant{UserID: walled.ID, DocumentID: d.ID, Permissions: rde})
	e.grant(t, owner, vault.NewGrant{UserID: demoted.ID, DocumentID: d.ID, Permissions: read})
	revoked := e.grant(t, owner, vault.NewGrant{UserID: owner.ID, DocumentID: d.ID, Permissions: read})
	if _, err := e.Svc.RevokeGrant(ctx, owner, revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Svc.AddWall(ctx, owner, m.ID, walled.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.UpdateUser(ctx, owner, demoted.ID, vault.UserUpdate{Role: ptr(vault.RoleAuditor)}); err != nil {
		t.Fatal(err)
	}

	rep, err := e.Svc.DocumentAccess(ctx, owner, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]vault.UserAccess{}
	for _, ua := range rep.Users {
		got[ua.UserID] = ua
	}
	if len(got) != 5 {
		t.Fatalf("report has %d users: %+v", len(got), rep.Users)
	}
	check := func(u *vault.User, perms, blocked string, kinds ...string) {
		t.Helper()
		ua := got[u.ID]
		if vault.FormatPermissions(ua.Permissions) != perms || ua.BlockedBy != blocked || ua.Email != u.Email {
			t.Errorf("%s: permissions %v blocked %q, want %q %q", u.Email, ua.Permissions, ua.BlockedBy, perms, blocked)
		}
		if len(ua.Reasons) != len(kinds) {
			t.Fatalf("%s: reasons %+v, want %v", u.Email, ua.Reasons, kinds)
		}
		for i, k := range kinds {
			if ua.Reasons[i].Kind != k {
				t.Errorf("%s: reason %d = %s, want %s", u.Email, i, ua.Reasons[i].Kind, k)
			}
		}
	}
	check(lawyer, "read,download,edit", "", vault.ReasonUploader)
	check(byDoc, "read", "", vault.ReasonDocumentGrant)
	check(byMatter, "read,download,edit", "", vault.ReasonMatterGrant)
	check(walled, "", "wall", vault.ReasonDocumentGrant)
	check(demoted, "", "auditor", vault.ReasonDocumentGrant)
	if r := got[byDoc.ID].Reasons[0]; r.GrantID != gd.ID || r.GrantedBy != lawyer.ID || r.ExpiresAt == nil {
		t.Errorf("document grant reason = %+v", r)
	}
	if r := got[byMatter.ID].Reasons[0]; r.GrantID != gm.ID || r.MatterID != m.ID {
		t.Errorf("matter grant reason = %+v", r)
	}
	if w := got[walled.ID].Wall; w == nil || w.CreatedBy != owner.ID {
		t.Errorf("wall = %+v", w)
	}
	// The owner's revoked self-grant gives no ground and is not listed.
	if _, ok := got[owner.ID]; ok {
		t.Error("revoked grant listed as a ground")
	}
	// Only owners and admins ask; another firm's document does not exist.
	_, err = e.Svc.DocumentAccess(ctx, lawyer, d.ID)
	wantCode(t, err, vault.EFORBIDDEN)
	_, stranger := e.firm(t, "Other LLP", "us")
	_, err = e.Svc.DocumentAccess(ctx, stranger, d.ID)
	wantCode(t, err, vault.ENOTFOUND)
}
