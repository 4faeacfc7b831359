package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

func TestDB_PendingBlobs(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	m := MustCreateMatter(t, db, owner, "Matter", "Client")

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0
	db.Now = func() time.Time { return now }

	// An upload that crashed before its commit leaves its record behind; one
	// that committed does not.
	left := vault.PendingBlob{Key: "ten/left", TenantID: tenant.ID, Region: "us"}
	if err := db.CreatePendingBlob(ctx, left); err != nil {
		t.Fatalf("CreatePendingBlob: %v", err)
	}
	now = t0.Add(time.Minute)
	d := &vault.Document{TenantID: tenant.ID, MatterID: m.ID, Name: "ok.pdf", CurrentVersion: 1, CreatedBy: owner.ID}
	v := newVersion(t, db, d, 1, owner.ID)
	v.DocumentID = ""
	if err := db.CreateDocument(ctx, d, v); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(2 * time.Minute)
	later := vault.PendingBlob{Key: "ten/later", TenantID: tenant.ID, Region: "us", CreatedAt: t0.Add(time.Hour).In(time.FixedZone("X", 3600))}
	if err := db.CreatePendingBlob(ctx, later); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name      string
		olderThan time.Time
		want      []string
	}{
		{"None", t0, nil},
		{"Left", t0.Add(time.Second), []string{"ten/left"}},
		{"All", t0.Add(2 * time.Hour), []string{"ten/left", "ten/later"}},
		{"OtherZone", t0.Add(time.Hour).In(time.FixedZone("Y", -5*3600)), []string{"ten/left"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.PendingBlobs(ctx, tt.olderThan)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("PendingBlobs = %+v, want keys %q", got, tt.want)
			}
			for i, key := range tt.want {
				if got[i].Key != key {
					t.Errorf("PendingBlobs[%d].Key = %q, want %q", i, got[i].Key, key)
				}
			}
		})
	}

	t.Run("RoundTrip", func(t *testing.T) {
		got, err := db.PendingBlobs(ctx, t0.Add(time.Second))
		if err != nil || len(got) != 1 {
			t.Fatalf("PendingBlobs = %+v, %v", got, err)
		}
		want := left
		want.CreatedAt = t0
		if got[0] != want {
			t.Errorf("PendingBlob = %+v, want %+v", got[0], want)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if err := db.DeletePendingBlob(ctx, "ten/left"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeletePendingBlob(ctx, "ten/left"); err != nil {
			t.Errorf("DeletePendingBlob(missing) = %v, want nil", err)
		}
		if hasPending(t, db, "ten/left") {
			t.Error("pending blob still listed after delete")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			p    vault.PendingBlob
			code string
		}{
			{"Duplicate", vault.PendingBlob{Key: "ten/later", TenantID: tenant.ID, Region: "us"}, vault.ECONFLICT},
			{"UnknownTenant", vault.PendingBlob{Key: "k1", TenantID: vault.NewID(vault.PrefixTenant), Region: "us"}, vault.ENOTFOUND},
			{"OtherRegion", vault.PendingBlob{Key: "k2", TenantID: tenant.ID, Region: "ca"}, vault.EINVALID},
			{"NoKey", vault.PendingBlob{TenantID: tenant.ID, Region: "us"}, vault.EINVALID},
			{"NoRegion", vault.PendingBlob{Key: "k3", TenantID: tenant.ID}, vault.EINVALID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreatePendingBlob(ctx, tt.p), tt.code)
			})
		}
	})
}

func TestDB_CommitNeedsPendingRecord(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	tenant, owner := MustCreateTenant(t, db, "Firm")
	m := MustCreateMatter(t, db, owner, "M", "C")
	d := &vault.Document{TenantID: tenant.ID, MatterID: m.ID, Name: "late.pdf", CurrentVersion: 1, CreatedBy: owner.ID}
	v := newVersion(t, db, d, 1, owner.ID)
	// The janitor claimed the record of an upload that outlived the grace
	// period and is deleting its blob: the commit must not point at it.
	if err := db.DeletePendingBlob(ctx, v.BlobKey); err != nil {
		t.Fatal(err)
	}
	v.DocumentID = ""
	wantCode(t, db.CreateDocument(ctx, d, v), vault.ECONFLICT)
	if _, err := db.Document(ctx, tenant.ID, d.ID); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Fatalf("document after a refused commit: %v, want not_found", err)
	}
}
