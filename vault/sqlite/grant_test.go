package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// grantFixture is a firm with an owner, a lawyer, a matter and a document in
// it, and another firm with the same, on a DB whose clock the test moves.
type grantFixture struct {
	db  *sqlite.DB
	now time.Time

	tenant        *vault.Tenant
	owner, lawyer *vault.User
	matter        *vault.Matter
	doc           *vault.Document

	other       *vault.Tenant
	otherOwner  *vault.User
	otherMatter *vault.Matter
	otherDoc    *vault.Document
}

// newGrantFixture opens a DB at path ("" for a new temp file) and fills it.
func newGrantFixture(tb testing.TB, path string) *grantFixture {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "casevault.db")
	}
	f := &grantFixture{db: MustOpenDBAt(tb, path), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.db.Now = func() time.Time { return f.now }
	f.tenant, f.owner = MustCreateTenant(tb, f.db, "Firm")
	f.lawyer = MustCreateUser(tb, f.db, f.tenant.ID, vault.RoleLawyer)
	f.matter = MustCreateMatter(tb, f.db, f.owner, "Matter", "Client")
	f.doc, _ = MustCreateDocument(tb, f.db, f.matter, f.owner.ID, "Doc.pdf")
	f.other, f.otherOwner = MustCreateTenant(tb, f.db, "Other")
	f.otherMatter = MustCreateMatter(tb, f.db, f.otherOwner, "Theirs", "Their client")
	f.otherDoc, _ = MustCreateDocument(tb, f.db, f.otherMatter, f.otherOwner.ID, "Theirs.pdf")
	return f
}

// tick moves the clock on by a second, so the next row sorts after the last.
func (f *grantFixture) tick() { f.now = f.now.Add(time.Second) }

// MustCreateGrant creates g. Fatal on error.
func MustCreateGrant(tb testing.TB, db *sqlite.DB, g *vault.Grant) *vault.Grant {
	tb.Helper()
	if err := db.CreateGrant(context.Background(), g); err != nil {
		tb.Fatalf("CreateGrant: %v", err)
	}
	return g
}

// perms returns ps as a slice, for brevity.
func perms(ps ...vault.Permission) []vault.Permission { return ps }

// timePtr returns a pointer to t.
func timePtr(t time.Time) *time.Time { return &t }

// grantString renders every field of g, with times as UTC instants and
// their zones, so two grants compare as strings.
func grantString(g *vault.Grant) string {
	if g == nil {
		return "<nil>"
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return "nil"
		}
		return t.Format(time.RFC3339Nano) + "@" + t.Location().String()
	}
	return fmt.Sprintf("{ID:%s Tenant:%s User:%s Doc:%s Matter:%s Perms:%v Expires:%s By:%s At:%s Revoked:%s RevokedBy:%s}",
		g.ID, g.TenantID, g.UserID, g.DocumentID, g.MatterID, g.Permissions, tm(g.ExpiresAt),
		g.CreatedBy, tm(&g.CreatedAt), tm(g.RevokedAt), g.RevokedBy)
}

// grantIDs returns the ids of gs, in order.
func grantIDs(gs ...*vault.Grant) string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return fmt.Sprint(ids)
}

func TestDB_CreateGrant(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db

	t.Run("OK", func(t *testing.T) {
		zone := time.FixedZone("UTC+2", 2*60*60)
		exp := time.Date(2026, 12, 31, 18, 0, 0, 7, zone)
		g := &vault.Grant{TenantID: f.tenant.ID, UserID: f.lawyer.ID, DocumentID: f.doc.ID,
			Permissions: perms(vault.PermRead, vault.PermDownload), ExpiresAt: &exp, CreatedBy: f.owner.ID}
		if err := db.CreateGrant(ctx, g); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
		if !vault.ValidID(vault.PrefixGrant, g.ID) || !g.CreatedAt.Equal(f.now) {
			t.Errorf("grant = %s, want a new id and CreatedAt %v", grantString(g), f.now)
		}
		if g.ExpiresAt.Location() != time.UTC || !g.ExpiresAt.Equal(exp) {
			t.Errorf("ExpiresAt = %v, want %v in UTC", g.ExpiresAt, exp)
		}
		got, err := db.Grant(ctx, f.tenant.ID, g.ID)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		if got, want := grantString(got), grantString(g); got != want {
			t.Errorf("Grant = %s\nwant %s", got, want)
		}
	})

	t.Run("MatterWithIDAndTime", func(t *testing.T) {
		at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("UTC-5", -5*60*60))
		g := MustCreateGrant(t, db, &vault.Grant{ID: vault.NewID(vault.PrefixGrant), TenantID: f.tenant.ID,
			UserID: f.lawyer.ID, MatterID: f.matter.ID, Permissions: perms(vault.PermRead, vault.PermDownload, vault.PermEdit),
			CreatedBy: f.owner.ID, CreatedAt: at})
		got, err := db.Grant(ctx, f.tenant.ID, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *g
		want.CreatedAt = at.UTC()
		if got, want := grantString(got), grantString(&want); got != want {
			t.Errorf("Grant = %s\nwant %s", got, want)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		valid := vault.Grant{TenantID: f.tenant.ID, UserID: f.owner.ID, DocumentID: f.doc.ID,
			Permissions: perms(vault.PermRead), CreatedBy: f.owner.ID}
		for _, tt := range []struct {
			name string
			edit func(g *vault.Grant)
		}{
			{"NoTenant", func(g *vault.Grant) { g.TenantID = "" }},
			{"NoUser", func(g *vault.Grant) { g.UserID = "" }},
			{"NoCreator", func(g *vault.Grant) { g.CreatedBy = "" }},
			{"DocumentAndMatter", func(g *vault.Grant) { g.MatterID = f.matter.ID }},
			{"NoObject", func(g *vault.Grant) { g.DocumentID = "" }},
			{"NoPermissions", func(g *vault.Grant) { g.Permissions = nil }},
			{"UnknownPermission", func(g *vault.Grant) { g.Permissions = perms("delete") }},
			{"NotInOrder", func(g *vault.Grant) { g.Permissions = perms(vault.PermEdit, vault.PermRead) }},
			{"Repeated", func(g *vault.Grant) { g.Permissions = perms(vault.PermRead, vault.PermRead) }},
			{"BadID", func(g *vault.Grant) { g.ID = "doc_x" }},
			{"Revoked", func(g *vault.Grant) { g.RevokedAt = timePtr(f.now) }},
			{"RevokedBy", func(g *vault.Grant) { g.RevokedBy = f.owner.ID }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				g := valid
				tt.edit(&g)
				wantCode(t, db.CreateGrant(ctx, &g), vault.EINVALID)
			})
		}
		wantCode(t, db.CreateGrant(ctx, nil), vault.EINVALID)
	})

	// Every reference must be in the grant's firm: one of another firm is
	// not found, exactly like a missing one.
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			edit func(g *vault.Grant)
		}{
			{"Tenant", func(g *vault.Grant) { g.TenantID = vault.NewID(vault.PrefixTenant) }},
			{"OtherFirm", func(g *vault.Grant) { g.TenantID = f.other.ID }},
			{"User", func(g *vault.Grant) { g.UserID = vault.NewID(vault.PrefixUser) }},
			{"UserOfOtherFirm", func(g *vault.Grant) { g.UserID = f.otherOwner.ID }},
			{"Creator", func(g *vault.Grant) { g.CreatedBy = vault.NewID(vault.PrefixUser) }},
			{"CreatorOfOtherFirm", func(g *vault.Grant) { g.CreatedBy = f.otherOwner.ID }},
			{"Document", func(g *vault.Grant) { g.DocumentID = vault.NewID(vault.PrefixDocument) }},
			{"DocumentOfOtherFirm", func(g *vault.Grant) { g.DocumentID = f.otherDoc.ID }},
			{"Matter", func(g *vault.Grant) { g.DocumentID, g.MatterID = "", vault.NewID(vault.PrefixMatter) }},
			{"MatterOfOtherFirm", func(g *vault.Grant) { g.DocumentID, g.MatterID = "", f.otherMatter.ID }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				g := vault.Grant{TenantID: f.tenant.ID, UserID: f.lawyer.ID, DocumentID: f.doc.ID,
					Permissions: perms(vault.PermEdit), CreatedBy: f.owner.ID}
				tt.edit(&g)
				wantCode(t, db.CreateGrant(ctx, &g), vault.ENOTFOUND)
				_, err := db.Grant(ctx, g.TenantID, g.ID)
				wantCode(t, err, vault.ENOTFOUND)
			})
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		user := MustCreateUser(t, db, f.tenant.ID, vault.RoleLawyer)
		exp := f.now.Add(24 * time.Hour)
		newGrant := func(ps []vault.Permission, exp *time.Time) *vault.Grant {
			return &vault.Grant{TenantID: f.tenant.ID, UserID: user.ID, DocumentID: f.doc.ID,
				Permissions: ps, ExpiresAt: exp, CreatedBy: f.owner.ID}
		}
		first := MustCreateGrant(t, db, newGrant(perms(vault.PermRead), &exp))

		err := db.CreateGrant(ctx, newGrant(perms(vault.PermRead), timePtr(exp.In(time.FixedZone("X", 3600)))))
		wantCode(t, err, vault.ECONFLICT)
		if got, want := vault.ErrorMessage(err), "An identical grant already exists."; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		// The same id is a conflict too, whatever the grant says.
		dupID := newGrant(perms(vault.PermEdit), nil)
		dupID.ID = first.ID
		wantCode(t, db.CreateGrant(ctx, dupID), vault.ECONFLICT)

		// Differing in expiry, permissions, object or user is no duplicate.
		MustCreateGrant(t, db, newGrant(perms(vault.PermRead), timePtr(exp.Add(time.Nanosecond))))
		MustCreateGrant(t, db, newGrant(perms(vault.PermRead), nil))
		MustCreateGrant(t, db, newGrant(perms(vault.PermRead, vault.PermDownload), &exp))
		onMatter := newGrant(perms(vault.PermRead), &exp)
		onMatter.DocumentID, onMatter.MatterID = "", f.matter.ID
		MustCreateGrant(t, db, onMatter)
		forOther := newGrant(perms(vault.PermRead), &exp)
		forOther.UserID = f.lawyer.ID
		MustCreateGrant(t, db, forOther)
		// Without expiry, the duplicate is caught too.
		wantCode(t, db.CreateGrant(ctx, newGrant(perms(vault.PermRead), nil)), vault.ECONFLICT)

		// Once revoked, the same grant can be given again, and then only once.
		if err := db.RevokeGrant(ctx, f.tenant.ID, first.ID, f.owner.ID, f.now); err != nil {
			t.Fatal(err)
		}
		MustCreateGrant(t, db, newGrant(perms(vault.PermRead), &exp))
		wantCode(t, db.CreateGrant(ctx, newGrant(perms(vault.PermRead), &exp)), vault.ECONFLICT)

		all, err := db.Grants(ctx, f.tenant.ID, vault.GrantFilter{UserID: user.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(all), 6; got != want {
			t.Errorf("len(Grants) = %d, want %d", got, want)
		}
	})
}

func TestDB_Grant(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	g := MustCreateGrant(t, f.db, &vault.Grant{TenantID: f.tenant.ID, UserID: f.lawyer.ID, DocumentID: f.doc.ID,
		Permissions: perms(vault.PermRead), CreatedBy: f.owner.ID})
	og := MustCreateGrant(t, f.db, &vault.Grant{TenantID: f.other.ID, UserID: f.otherOwner.ID, MatterID: f.otherMatter.ID,
		Permissions: perms(vault.PermRead), CreatedBy: f.otherOwner.ID})

	for _, tt := range []struct{ name, tenantID, id string }{
		{"Missing", f.tenant.ID, vault.NewID(vault.PrefixGrant)},
		{"OtherFirm", f.other.ID, g.ID},
		{"OtherFirmReverse", f.tenant.ID, og.ID},
		{"Garbage", f.tenant.ID, "' OR 1=1 --"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.db.Grant(ctx, tt.tenantID, tt.id)
			wantCode(t, err, vault.ENOTFOUND)
			if got != nil {
				t.Errorf("Grant = %s, want nil", grantString(got))
			}
		})
	}
}

func TestDB_Grants(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db
	admin := MustCreateUser(t, db, f.tenant.ID, vault.RoleAdmin)
	m2 := MustCreateMatter(t, db, f.owner, "Second", "Client 2")
	d2, _ := MustCreateDocument(t, db, m2, f.owner.ID, "Second.pdf")
	newGrant := func(user, doc, matter, by string, exp *time.Time) *vault.Grant {
		f.tick()
		return MustCreateGrant(t, db, &vault.Grant{TenantID: f.tenant.ID, UserID: user, DocumentID: doc, MatterID: matter,
			Permissions: perms(vault.PermRead), ExpiresAt: exp, CreatedBy: by})
	}

	start := f.now
	exp := start.Add(time.Hour)
	docLawyer := newGrant(f.lawyer.ID, f.doc.ID, "", f.owner.ID, nil)
	matterLawyer := newGrant(f.lawyer.ID, "", f.matter.ID, f.owner.ID, &exp)
	docAdmin := newGrant(admin.ID, f.doc.ID, "", admin.ID, nil)
	d2Lawyer := newGrant(f.lawyer.ID, d2.ID, "", admin.ID, nil)
	m2Admin := newGrant(admin.ID, "", m2.ID, f.owner.ID, nil)
	revoked := newGrant(f.lawyer.ID, f.doc.ID, "", f.owner.ID, &exp)
	if err := db.RevokeGrant(ctx, f.tenant.ID, revoked.ID, admin.ID, f.now); err != nil {
		t.Fatal(err)
	}
	// Another firm's grant never shows.
	MustCreateGrant(t, db, &vault.Grant{TenantID: f.other.ID, UserID: f.otherOwner.ID, DocumentID: f.otherDoc.ID,
		Permissions: perms(vault.PermRead), CreatedBy: f.otherOwner.ID})

	for _, tt := range []struct {
		name     string
		tenantID string
		f        vault.GrantFilter
		want     []*vault.Grant
	}{
		{"All", f.tenant.ID, vault.GrantFilter{}, []*vault.Grant{docLawyer, matterLawyer, docAdmin, d2Lawyer, m2Admin, revoked}},
		{"User", f.tenant.ID, vault.GrantFilter{UserID: f.lawyer.ID}, []*vault.Grant{docLawyer, matterLawyer, d2Lawyer, revoked}},
		// Grants on a document, not on its matter; on a matter, not on its
		// documents.
		{"Document", f.tenant.ID, vault.GrantFilter{DocumentID: f.doc.ID}, []*vault.Grant{docLawyer, docAdmin, revoked}},
		{"Matter", f.tenant.ID, vault.GrantFilter{MatterID: f.matter.ID}, []*vault.Grant{matterLawyer}},
		{"CreatedBy", f.tenant.ID, vault.GrantFilter{CreatedBy: admin.ID}, []*vault.Grant{docAdmin, d2Lawyer}},
		{"UserAndDocument", f.tenant.ID, vault.GrantFilter{UserID: f.lawyer.ID, DocumentID: f.doc.ID}, []*vault.Grant{docLawyer, revoked}},
		{"UserAndMatter", f.tenant.ID, vault.GrantFilter{UserID: admin.ID, MatterID: m2.ID}, []*vault.Grant{m2Admin}},
		{"DocumentAndMatter", f.tenant.ID, vault.GrantFilter{DocumentID: f.doc.ID, MatterID: f.matter.ID}, nil},
		{"ActiveNow", f.tenant.ID, vault.GrantFilter{ActiveAt: f.now}, []*vault.Grant{docLawyer, matterLawyer, docAdmin, d2Lawyer, m2Admin}},
		{"ActiveBeforeExpiry", f.tenant.ID, vault.GrantFilter{UserID: f.lawyer.ID, ActiveAt: exp.Add(-time.Nanosecond)}, []*vault.Grant{docLawyer, matterLawyer, d2Lawyer}},
		{"ActiveAtExpiry", f.tenant.ID, vault.GrantFilter{UserID: f.lawyer.ID, ActiveAt: exp}, []*vault.Grant{docLawyer, d2Lawyer}},
		{"ActiveInOtherZone", f.tenant.ID, vault.GrantFilter{MatterID: f.matter.ID, ActiveAt: exp.Add(-time.Nanosecond).In(time.FixedZone("UTC-9", -9*3600))}, []*vault.Grant{matterLawyer}},
		{"AllFilters", f.tenant.ID, vault.GrantFilter{UserID: f.lawyer.ID, DocumentID: f.doc.ID, CreatedBy: f.owner.ID, ActiveAt: f.now}, []*vault.Grant{docLawyer}},
		{"OtherFirmsUser", f.tenant.ID, vault.GrantFilter{UserID: f.otherOwner.ID}, nil},
		{"OtherFirm", f.other.ID, vault.GrantFilter{UserID: f.lawyer.ID}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Grants(ctx, tt.tenantID, tt.f)
			if err != nil {
				t.Fatalf("Grants: %v", err)
			}
			if got, want := grantIDs(got...), grantIDs(tt.want...); got != want {
				t.Errorf("Grants = %s, want %s", got, want)
			}
		})
	}

	// Listed grants carry every field, as Grant returns them.
	got, err := db.Grants(ctx, f.tenant.ID, vault.GrantFilter{UserID: f.lawyer.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		one, err := db.Grant(ctx, f.tenant.ID, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := grantString(g), grantString(one); got != want {
			t.Errorf("Grants entry = %s\nGrant = %s", got, want)
		}
	}
}

// Grants with equal creation times list in id order.
func TestDB_Grants_SameTime(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	var ids []string
	for range 5 {
		u := MustCreateUser(t, f.db, f.tenant.ID, vault.RoleLawyer)
		g := MustCreateGrant(t, f.db, &vault.Grant{TenantID: f.tenant.ID, UserID: u.ID, MatterID: f.matter.ID,
			Permissions: perms(vault.PermRead), CreatedBy: f.owner.ID})
		ids = append(ids, g.ID)
	}
	got, err := f.db.Grants(ctx, f.tenant.ID, vault.GrantFilter{MatterID: f.matter.ID})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].ID >= got[i].ID {
			t.Fatalf("Grants = %s, want ids ascending", grantIDs(got...))
		}
	}
	if len(got) != len(ids) {
		t.Errorf("len(Grants) = %d, want %d", len(got), len(ids))
	}
}

func TestDB_AccessGrants(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db
	d2, _ := MustCreateDocument(t, db, f.matter, f.owner.ID, "Second.pdf")
	m2 := MustCreateMatter(t, db, f.owner, "Second", "Client 2")
	colleague := MustCreateUser(t, db, f.tenant.ID, vault.RoleLawyer)
	newGrant := func(user, doc, matter string, ps []vault.Permission, exp *time.Time) *vault.Grant {
		f.tick()
		return MustCreateGrant(t, db, &vault.Grant{TenantID: f.tenant.ID, UserID: user, DocumentID: doc, MatterID: matter,
			Permissions: ps, ExpiresAt: exp, CreatedBy: f.owner.ID})
	}

	exp := f.now.Add(time.Hour)
	onMatter := newGrant(f.lawyer.ID, "", f.matter.ID, perms(vault.PermRead), nil)
	onDoc := newGrant(f.lawyer.ID, f.doc.ID, "", perms(vault.PermDownload), nil)
	onDocExpiring := newGrant(f.lawyer.ID, f.doc.ID, "", perms(vault.PermEdit), &exp)
	onMatterExpiring := newGrant(f.lawyer.ID, "", f.matter.ID, perms(vault.PermEdit), &exp)
	onDocRevoked := newGrant(f.lawyer.ID, f.doc.ID, "", perms(vault.PermRead, vault.PermEdit), nil)
	if err := db.RevokeGrant(ctx, f.tenant.ID, onDocRevoked.ID, f.owner.ID, f.now); err != nil {
		t.Fatal(err)
	}
	// Grants that never apply to the lawyer on doc in matter.
	newGrant(f.lawyer.ID, d2.ID, "", perms(vault.PermRead), nil)
	newGrant(f.lawyer.ID, "", m2.ID, perms(vault.PermRead), nil)
	newGrant(colleague.ID, f.doc.ID, "", perms(vault.PermRead), nil)
	newGrant(colleague.ID, "", f.matter.ID, perms(vault.PermRead), nil)
	MustCreateGrant(t, db, &vault.Grant{TenantID: f.other.ID, UserID: f.otherOwner.ID, DocumentID: f.otherDoc.ID,
		Permissions: perms(vault.PermRead), CreatedBy: f.otherOwner.ID})

	now := f.now
	for _, tt := range []struct {
		name                     string
		tenantID, user, doc, mat string
		at                       time.Time
		want                     []*vault.Grant
	}{
		{"DocumentAndMatter", f.tenant.ID, f.lawyer.ID, f.doc.ID, f.matter.ID, now, []*vault.Grant{onMatter, onDoc, onDocExpiring, onMatterExpiring}},
		{"DocumentOnly", f.tenant.ID, f.lawyer.ID, f.doc.ID, "", now, []*vault.Grant{onDoc, onDocExpiring}},
		{"MatterOnly", f.tenant.ID, f.lawyer.ID, "", f.matter.ID, now, []*vault.Grant{onMatter, onMatterExpiring}},
		{"Neither", f.tenant.ID, f.lawyer.ID, "", "", now, nil},
		// A grant gives nothing from its expiry instant on.
		{"JustBeforeExpiry", f.tenant.ID, f.lawyer.ID, f.doc.ID, f.matter.ID, exp.Add(-time.Nanosecond), []*vault.Grant{onMatter, onDoc, onDocExpiring, onMatterExpiring}},
		{"AtExpiry", f.tenant.ID, f.lawyer.ID, f.doc.ID, f.matter.ID, exp, []*vault.Grant{onMatter, onDoc}},
		{"AtExpiryInOtherZone", f.tenant.ID, f.lawyer.ID, f.doc.ID, f.matter.ID, exp.In(time.FixedZone("UTC+14", 14*3600)), []*vault.Grant{onMatter, onDoc}},
		{"AfterExpiry", f.tenant.ID, f.lawyer.ID, f.doc.ID, "", exp.Add(time.Hour), []*vault.Grant{onDoc}},
		{"DocumentGrantsAreNotMatterGrants", f.tenant.ID, f.lawyer.ID, "", d2.ID, now, nil},
		{"OtherFirm", f.other.ID, f.lawyer.ID, f.doc.ID, f.matter.ID, now, nil},
		{"OtherFirmsObjects", f.tenant.ID, f.otherOwner.ID, f.otherDoc.ID, f.otherMatter.ID, now, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.AccessGrants(ctx, tt.tenantID, tt.user, tt.doc, tt.mat, tt.at)
			if err != nil {
				t.Fatalf("AccessGrants: %v", err)
			}
			if got, want := grantIDs(got...), grantIDs(tt.want...); got != want {
				t.Errorf("AccessGrants = %s, want %s", got, want)
			}
			for _, g := range got {
				if !g.ActiveAt(tt.at) {
					t.Errorf("grant %s is not active at %v by Grant.ActiveAt", grantString(g), tt.at)
				}
			}
		})
	}

	got, err := db.AccessGrants(ctx, f.tenant.ID, f.lawyer.ID, f.doc.ID, "", now)
	if err != nil || len(got) == 0 {
		t.Fatalf("AccessGrants = %d, %v", len(got), err)
	}
	if got, want := grantString(got[0]), grantString(onDoc); got != want {
		t.Errorf("AccessGrants[0] = %s\nwant %s", got, want)
	}
}

func TestDB_RevokeGrant(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db
	exp := f.now.Add(time.Hour)
	g := MustCreateGrant(t, db, &vault.Grant{TenantID: f.tenant.ID, UserID: f.lawyer.ID, DocumentID: f.doc.ID,
		Permissions: perms(vault.PermRead, vault.PermEdit), ExpiresAt: &exp, CreatedBy: f.owner.ID})
	og := MustCreateGrant(t, db, &vault.Grant{TenantID: f.other.ID, UserID: f.otherOwner.ID, MatterID: f.otherMatter.ID,
		Permissions: perms(vault.PermRead), CreatedBy: f.otherOwner.ID})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct{ name, tenantID, id, by string }{
			{"Missing", f.tenant.ID, vault.NewID(vault.PrefixGrant), f.owner.ID},
			{"OtherFirmsGrant", f.tenant.ID, og.ID, f.owner.ID},
			{"AsOtherFirm", f.other.ID, g.ID, f.otherOwner.ID},
			{"RevokerOfOtherFirm", f.tenant.ID, g.ID, f.otherOwner.ID},
			{"MissingRevoker", f.tenant.ID, g.ID, vault.NewID(vault.PrefixUser)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.RevokeGrant(ctx, tt.tenantID, tt.id, tt.by, f.now), vault.ENOTFOUND)
			})
		}
		for _, x := range []*vault.Grant{g, og} {
			got, err := db.Grant(ctx, x.TenantID, x.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.RevokedAt != nil {
				t.Errorf("grant %s revoked by a failed revoke", got.ID)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, db.RevokeGrant(ctx, f.tenant.ID, g.ID, "", f.now), vault.EINVALID)
	})

	f.tick()
	at := f.now.Add(time.Minute).In(time.FixedZone("UTC-3", -3*3600))
	if err := db.RevokeGrant(ctx, f.tenant.ID, g.ID, f.lawyer.ID, at); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	got, err := db.Grant(ctx, f.tenant.ID, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Only the revocation changed; the grant stays on record.
	want := *g
	want.RevokedAt, want.RevokedBy = timePtr(at.UTC()), f.lawyer.ID
	if got, want := grantString(got), grantString(&want); got != want {
		t.Errorf("Grant = %s\nwant %s", got, want)
	}
	if got, want := got.Status(f.now), vault.GrantRevoked; got != want {
		t.Errorf("Status = %q, want %q", got, want)
	}

	t.Run("ErrConflict", func(t *testing.T) {
		err := db.RevokeGrant(ctx, f.tenant.ID, g.ID, f.owner.ID, f.now)
		wantCode(t, err, vault.ECONFLICT)
		again, err := db.Grant(ctx, f.tenant.ID, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again.RevokedBy != f.lawyer.ID || !again.RevokedAt.Equal(at) {
			t.Errorf("second revoke changed the record: %s", grantString(again))
		}
		// Another firm still sees nothing, revoked or not.
		wantCode(t, db.RevokeGrant(ctx, f.other.ID, g.ID, f.otherOwner.ID, f.now), vault.ENOTFOUND)
	})

	t.Run("ExpiredAndZeroTime", func(t *testing.T) {
		past := f.now.Add(-time.Hour)
		x := MustCreateGrant(t, db, &vault.Grant{TenantID: f.tenant.ID, UserID: f.lawyer.ID, MatterID: f.matter.ID,
			Permissions: perms(vault.PermRead), ExpiresAt: &past, CreatedBy: f.owner.ID})
		if err := db.RevokeGrant(ctx, f.tenant.ID, x.ID, f.owner.ID, time.Time{}); err != nil {
			t.Fatalf("RevokeGrant(expired): %v", err)
		}
		got, err := db.Grant(ctx, f.tenant.ID, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RevokedAt == nil || !got.RevokedAt.Equal(f.now) {
			t.Errorf("RevokedAt = %v, want the clock's %v", got.RevokedAt, f.now)
		}
	})
}

// The schema itself refuses a grant that points into another firm, names
// both or neither object, or stores permissions in another form, whatever
// code writes it.
func TestSchema_Grants(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	f := newGrantFixture(t, path)
	g := MustCreateGrant(t, f.db, &vault.Grant{TenantID: f.tenant.ID, UserID: f.lawyer.ID, DocumentID: f.doc.ID,
		Permissions: perms(vault.PermRead, vault.PermDownload), CreatedBy: f.owner.ID})
	raw := rawDB(t, path)

	insert := func(user, doc, matter, ps, by string) error {
		_, err := raw.ExecContext(ctx, `
			INSERT INTO grants (id, tenant_id, user_id, document_id, matter_id, permissions, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000000000Z')`,
			vault.NewID(vault.PrefixGrant), f.tenant.ID, user, nullIfEmpty(doc), nullIfEmpty(matter), ps, by)
		return err
	}
	for _, tt := range []struct {
		name, user, doc, matter, ps, by, want string
	}{
		{"UserOfOtherFirm", f.otherOwner.ID, f.doc.ID, "", "read", f.owner.ID, "FOREIGN KEY"},
		{"CreatorOfOtherFirm", f.lawyer.ID, f.doc.ID, "", "read", f.otherOwner.ID, "FOREIGN KEY"},
		{"DocumentOfOtherFirm", f.lawyer.ID, f.otherDoc.ID, "", "read", f.owner.ID, "FOREIGN KEY"},
		{"MatterOfOtherFirm", f.lawyer.ID, "", f.otherMatter.ID, "read", f.owner.ID, "FOREIGN KEY"},
		{"DocumentAndMatter", f.lawyer.ID, f.doc.ID, f.matter.ID, "read", f.owner.ID, "CHECK"},
		{"NoObject", f.lawyer.ID, "", "", "read", f.owner.ID, "CHECK"},
		{"NotCanonical", f.lawyer.ID, f.doc.ID, "", "download,read", f.owner.ID, "CHECK"},
		{"Unknown", f.lawyer.ID, f.doc.ID, "", "read,delete", f.owner.ID, "CHECK"},
		{"Duplicate", f.lawyer.ID, f.doc.ID, "", "read,download", f.owner.ID, "UNIQUE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := insert(tt.user, tt.doc, tt.matter, tt.ps, tt.by); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("INSERT = %v, want a %s error", err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, query string }{
		{"RevokedByOtherFirm", `UPDATE grants SET revoked_at = '2026-01-02T00:00:00.000000000Z', revoked_by = '` + f.otherOwner.ID + `' WHERE id = '` + g.ID + `'`},
		{"RevokedWithoutRevoker", `UPDATE grants SET revoked_at = '2026-01-02T00:00:00.000000000Z' WHERE id = '` + g.ID + `'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := raw.ExecContext(ctx, tt.query); err == nil {
				t.Error("UPDATE succeeded, want a constraint error")
			}
		})
	}
}

// The lookups an authorization check and the listings make are served by
// indexes that narrow by every equality they filter on, never by a scan. The
// queries are those grant.go builds. An authorization check also reads its
// rows already in order, with no sort.
func TestSchema_GrantIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.db")
	newGrantFixture(t, path)
	raw := rawDB(t, path)
	const cols = `id, tenant_id, user_id, document_id, matter_id, permissions, expires_at, created_by, created_at, revoked_at, revoked_by`
	const active = `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`
	const order = ` ORDER BY created_at, id`
	for _, tt := range []struct {
		name, query string
		args        []any
		want        []string // in the plan, each a search on these columns
		sorted      bool     // rows come out in order, without a sort
	}{
		{"AccessGrants", `
			SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND user_id = ? AND document_id = ? AND ` + active + `
			UNION ALL
			SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND user_id = ? AND matter_id = ? AND ` + active + order,
			[]any{"t", "u", "d", "x", "t", "u", "m", "x"},
			[]string{
				"INDEX grants_tenant_user_document (tenant_id=? AND user_id=? AND document_id=?)",
				"INDEX grants_tenant_user_matter (tenant_id=? AND user_id=? AND matter_id=?)",
			}, true},
		{"AccessGrantsDocument", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND user_id = ? AND document_id = ? AND ` + active + order,
			[]any{"t", "u", "d", "x"}, []string{"(tenant_id=? AND user_id=? AND document_id=?)"}, true},
		{"AccessGrantsMatter", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND user_id = ? AND matter_id = ? AND ` + active + order,
			[]any{"t", "u", "m", "x"}, []string{"(tenant_id=? AND user_id=? AND matter_id=?)"}, true},
		{"GrantsByDocument", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND document_id = ?` + order,
			[]any{"t", "d"}, []string{"(tenant_id=? AND document_id=?)"}, true},
		{"GrantsByMatter", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND matter_id = ? AND ` + active + order,
			[]any{"t", "m", "x"}, []string{"(tenant_id=? AND matter_id=?)"}, true},
		{"GrantsByUser", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND user_id = ?` + order,
			[]any{"t", "u"}, []string{"(tenant_id=? AND user_id=?)"}, false},
		{"GrantsByUserActive", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND user_id = ? AND ` + active + order,
			[]any{"t", "u", "x"}, []string{"(tenant_id=? AND user_id=?)"}, false},
		{"GrantsByCreator", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ? AND created_by = ?` + order,
			[]any{"t", "u"}, []string{"(tenant_id=?)"}, false},
		{"GrantsOfFirm", `SELECT ` + cols + ` FROM grants WHERE tenant_id = ?` + order,
			[]any{"t"}, []string{"(tenant_id=?)"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan := queryPlan(t, raw, tt.query, tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(plan, "SEARCH grants USING INDEX ") || !strings.Contains(plan, w) {
					t.Errorf("plan does not search an index on %s:\n%s", w, plan)
				}
			}
			if strings.Contains(plan, "SCAN grants") {
				t.Errorf("plan scans the table:\n%s", plan)
			}
			if tt.sorted && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan sorts:\n%s", plan)
			}
		})
	}
}

// queryPlan returns the detail lines of EXPLAIN QUERY PLAN for query.
func queryPlan(tb testing.TB, raw *sql.DB, query string, args ...any) string {
	tb.Helper()
	rows, err := raw.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			tb.Fatal(err)
		}
		plan += detail + "\n"
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return plan
}

// nullIfEmpty passes "" to SQL as NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
