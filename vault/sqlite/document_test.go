package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

func TestDB_CreateDocument(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	_, otherOwner := MustCreateTenant(t, db, "Other")
	m := MustCreateMatter(t, db, owner, "Matter", "Client")
	om := MustCreateMatter(t, db, otherOwner, "Theirs", "Their client")

	t.Run("OK", func(t *testing.T) {
		d := &vault.Document{ID: vault.NewID(vault.PrefixDocument), TenantID: tenant.ID, MatterID: m.ID,
			Name: "Engagement letter.pdf", CurrentVersion: 1, CreatedBy: owner.ID}
		v := newVersion(t, db, d, 1, owner.ID)
		if err := db.CreateDocument(ctx, d, v); err != nil {
			t.Fatalf("CreateDocument: %v", err)
		}
		if got, want := d.Size, v.Size; got != want {
			t.Errorf("Size = %d, want %d", got, want)
		}
		if got, want := d.ContentType, v.ContentType; got != want {
			t.Errorf("ContentType = %q, want %q", got, want)
		}

		got, err := db.Document(ctx, tenant.ID, d.ID)
		if err != nil {
			t.Fatalf("Document: %v", err)
		}
		if *got != *d {
			t.Errorf("Document = %+v, want %+v", got, d)
		}
		gotV, err := db.Version(ctx, tenant.ID, d.ID, 1)
		if err != nil {
			t.Fatalf("Version: %v", err)
		}
		if *gotV != *v {
			t.Errorf("Version = %+v, want %+v", gotV, v)
		}
		// The pending record went with the commit.
		pending, err := db.PendingBlobs(ctx, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 0 {
			t.Errorf("PendingBlobs = %+v, want none", pending)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct {
			name             string
			matter, creator  string
			wantPendingAfter bool
		}{
			{"Matter", vault.NewID(vault.PrefixMatter), owner.ID, true},
			{"MatterOfOtherTenant", om.ID, owner.ID, true},
			{"CreatorOfOtherTenant", m.ID, otherOwner.ID, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				d := &vault.Document{TenantID: tenant.ID, MatterID: tt.matter, Name: "X", CurrentVersion: 1, CreatedBy: tt.creator}
				v := newVersion(t, db, d, 1, tt.creator)
				v.DocumentID = "" // filled in from d
				wantCode(t, db.CreateDocument(ctx, d, v), vault.ENOTFOUND)
				_, err := db.Document(ctx, tenant.ID, d.ID)
				wantCode(t, err, vault.ENOTFOUND)
				// A failed commit leaves the pending record for the janitor.
				if !hasPending(t, db, v.BlobKey) {
					t.Errorf("pending blob %q gone after a failed create", v.BlobKey)
				}
			})
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		d, v := MustCreateDocument(t, db, m, owner.ID, "First.pdf")
		dupID := &vault.Document{ID: d.ID, TenantID: tenant.ID, MatterID: m.ID, Name: "Dup", CurrentVersion: 1, CreatedBy: owner.ID}
		wantCode(t, db.CreateDocument(ctx, dupID, newVersion(t, db, dupID, 1, owner.ID)), vault.ECONFLICT)

		dupKey := &vault.Document{TenantID: tenant.ID, MatterID: m.ID, Name: "Dup", CurrentVersion: 1, CreatedBy: owner.ID}
		v2 := newVersion(t, db, dupKey, 1, owner.ID)
		v2.BlobKey, v2.DocumentID = v.BlobKey, ""
		wantCode(t, db.CreateDocument(ctx, dupKey, v2), vault.ECONFLICT)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		base := vault.Document{TenantID: tenant.ID, MatterID: m.ID, Name: "N", CurrentVersion: 1, CreatedBy: owner.ID}
		for _, tt := range []struct {
			name   string
			modify func(*vault.Document, *vault.Version)
		}{
			{"NoName", func(d *vault.Document, v *vault.Version) { d.Name = "" }},
			{"NoMatter", func(d *vault.Document, v *vault.Version) { d.MatterID = "" }},
			{"CurrentVersion2", func(d *vault.Document, v *vault.Version) { d.CurrentVersion = 2 }},
			{"VersionNumber2", func(d *vault.Document, v *vault.Version) { v.Number = 2 }},
			{"VersionOtherDocument", func(d *vault.Document, v *vault.Version) { v.DocumentID = vault.NewID(vault.PrefixDocument) }},
			{"NoBlobKey", func(d *vault.Document, v *vault.Version) { v.BlobKey = "" }},
			{"NegativeSize", func(d *vault.Document, v *vault.Version) { v.Size = -1 }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				d := base
				d.ID = vault.NewID(vault.PrefixDocument)
				v := newVersion(t, db, &d, 1, owner.ID)
				tt.modify(&d, v)
				wantCode(t, db.CreateDocument(ctx, &d, v), vault.EINVALID)
			})
		}
	})
}

// hasPending reports whether a pending record for key exists.
func hasPending(tb testing.TB, db interface {
	PendingBlobs(context.Context, time.Time) ([]vault.PendingBlob, error)
}, key string) bool {
	tb.Helper()
	pending, err := db.PendingBlobs(context.Background(), time.Now().Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range pending {
		if p.Key == key {
			return true
		}
	}
	return false
}

func TestDB_Documents(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")
	m1 := MustCreateMatter(t, db, owner, "M1", "C1")
	m2 := MustCreateMatter(t, db, owner, "M2", "C2")
	om := MustCreateMatter(t, db, otherOwner, "OM", "OC")

	a, _ := MustCreateDocument(t, db, m1, owner.ID, "a.pdf")
	b, _ := MustCreateDocument(t, db, m1, owner.ID, "b.pdf")
	c, _ := MustCreateDocument(t, db, m2, owner.ID, "c.pdf")
	theirs, _ := MustCreateDocument(t, db, om, otherOwner.ID, "theirs.pdf")
	b.Trashed = true
	if err := db.UpdateDocument(ctx, b); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		f    vault.DocumentFilter
		want []*vault.Document
	}{
		{"All", vault.DocumentFilter{}, []*vault.Document{a, c}},
		{"IncludeTrashed", vault.DocumentFilter{IncludeTrashed: true}, []*vault.Document{a, b, c}},
		{"OnlyTrashed", vault.DocumentFilter{OnlyTrashed: true}, []*vault.Document{b}},
		{"Matter", vault.DocumentFilter{MatterID: m1.ID}, []*vault.Document{a}},
		{"MatterIncludeTrashed", vault.DocumentFilter{MatterID: m1.ID, IncludeTrashed: true}, []*vault.Document{a, b}},
		{"MatterOnlyTrashed", vault.DocumentFilter{MatterID: m2.ID, OnlyTrashed: true}, nil},
		{"MatterOfOtherTenant", vault.DocumentFilter{MatterID: om.ID, IncludeTrashed: true}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Documents(ctx, tenant.ID, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("len(Documents) = %d, want %d", len(got), len(tt.want))
			}
			for i := range tt.want {
				if got[i].ID != tt.want[i].ID || got[i].Name != tt.want[i].Name {
					t.Errorf("Documents[%d] = %s %q, want %s %q", i, got[i].ID, got[i].Name, tt.want[i].ID, tt.want[i].Name)
				}
			}
		})
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct{ name, tenantID, id string }{
			{"Missing", tenant.ID, vault.NewID(vault.PrefixDocument)},
			{"OtherTenant", tenant.ID, theirs.ID},
			{"OtherTenantReverse", other.ID, a.ID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				d, err := db.Document(ctx, tt.tenantID, tt.id)
				wantCode(t, err, vault.ENOTFOUND)
				if d != nil {
					t.Errorf("Document = %+v, want nil", d)
				}
			})
		}
	})
}

func TestDB_UpdateDocument(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")
	m1 := MustCreateMatter(t, db, owner, "M1", "C1")
	m2 := MustCreateMatter(t, db, owner, "M2", "C2")
	om := MustCreateMatter(t, db, otherOwner, "OM", "OC")
	d, _ := MustCreateDocument(t, db, m1, owner.ID, "draft.docx")

	now := d.CreatedAt
	db.Now = func() time.Time { now = now.Add(time.Minute); return now }

	mustGet := func(t *testing.T) *vault.Document {
		t.Helper()
		got, err := db.Document(ctx, tenant.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("RenameAndMove", func(t *testing.T) {
		upd := mustGet(t)
		upd.Name, upd.MatterID = "final.docx", m2.ID
		upd.UpdatedAt = time.Time{} // set from the clock
		if err := db.UpdateDocument(ctx, upd); err != nil {
			t.Fatalf("UpdateDocument: %v", err)
		}
		got := mustGet(t)
		if got.Name != "final.docx" || got.MatterID != m2.ID || !got.UpdatedAt.Equal(now) {
			t.Errorf("Document = %q in %s updated %v, want %q in %s updated %v", got.Name, got.MatterID, got.UpdatedAt, "final.docx", m2.ID, now)
		}
		if *got != *upd {
			t.Errorf("Document = %+v, want %+v", got, upd)
		}
	})

	t.Run("CallersUpdatedAt", func(t *testing.T) {
		upd := mustGet(t)
		want := time.Date(2030, 1, 1, 12, 0, 0, 5, time.FixedZone("X", 2*3600))
		upd.UpdatedAt = want
		if err := db.UpdateDocument(ctx, upd); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t).UpdatedAt; !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("UpdatedAt = %v, want %v in UTC", got, want)
		}
	})

	t.Run("TrashAndRestore", func(t *testing.T) {
		upd := mustGet(t)
		upd.Trashed = true
		if err := db.UpdateDocument(ctx, upd); err != nil {
			t.Fatal(err)
		}
		trashedAt := now
		got := mustGet(t)
		if !got.Trashed || got.TrashedAt == nil || !got.TrashedAt.Equal(trashedAt) {
			t.Fatalf("Trashed, TrashedAt = %v, %v; want true, %v", got.Trashed, got.TrashedAt, trashedAt)
		}
		// Saving a trashed document again keeps when it was trashed.
		got.TrashedAt = nil
		if err := db.UpdateDocument(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t); got.TrashedAt == nil || !got.TrashedAt.Equal(trashedAt) {
			t.Errorf("TrashedAt after resave = %v, want %v", got.TrashedAt, trashedAt)
		}

		got.Trashed = false
		if err := db.UpdateDocument(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t); got.Trashed || got.TrashedAt != nil {
			t.Errorf("Trashed, TrashedAt = %v, %v; want false, nil", got.Trashed, got.TrashedAt)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		before := mustGet(t)
		for _, tt := range []struct {
			name   string
			modify func(*vault.Document)
		}{
			{"MatterOfOtherTenant", func(d *vault.Document) { d.MatterID = om.ID }},
			{"MissingMatter", func(d *vault.Document) { d.MatterID = vault.NewID(vault.PrefixMatter) }},
			{"OtherTenant", func(d *vault.Document) { d.TenantID = other.ID }},
			{"UnknownTenant", func(d *vault.Document) { d.TenantID = vault.NewID(vault.PrefixTenant) }},
			{"MissingDocument", func(d *vault.Document) { d.ID = vault.NewID(vault.PrefixDocument) }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				upd := *before
				upd.Name = "hijacked"
				tt.modify(&upd)
				wantCode(t, db.UpdateDocument(ctx, &upd), vault.ENOTFOUND)
				if got := mustGet(t); *got != *before {
					t.Errorf("Document = %+v, want unchanged %+v", got, before)
				}
			})
		}
	})
}
