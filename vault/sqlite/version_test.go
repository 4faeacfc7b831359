package sqlite_test

import (
	"context"
	"sync"
	"testing"

	"github.com/casevault/casevault/vault"
)

func TestDB_AddVersion(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")
	m := MustCreateMatter(t, db, owner, "Matter", "Client")
	om := MustCreateMatter(t, db, otherOwner, "Theirs", "Their client")
	lawyer := MustCreateUser(t, db, tenant.ID, vault.RoleLawyer)

	t.Run("OK", func(t *testing.T) {
		d, v1 := MustCreateDocument(t, db, m, owner.ID, "contract.pdf")
		v2 := newVersion(t, db, d, 2, lawyer.ID)
		v2.ContentType = ""
		if err := db.AddVersion(ctx, v2); err != nil {
			t.Fatalf("AddVersion: %v", err)
		}
		if got, want := v2.ContentType, d.ContentType; got != want {
			t.Errorf("ContentType = %q, want the document's %q", got, want)
		}
		if hasPending(t, db, v2.BlobKey) {
			t.Errorf("pending blob still recorded after AddVersion")
		}

		got, err := db.Document(ctx, tenant.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CurrentVersion != 2 || got.Size != v2.Size {
			t.Errorf("CurrentVersion, Size = %d, %d; want 2, %d", got.CurrentVersion, got.Size, v2.Size)
		}
		versions, err := db.Versions(ctx, tenant.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []*vault.Version{v1, v2}
		if len(versions) != len(want) {
			t.Fatalf("len(Versions) = %d, want %d", len(versions), len(want))
		}
		for i := range want {
			if *versions[i] != *want[i] {
				t.Errorf("Versions[%d] = %+v, want %+v", i, versions[i], want[i])
			}
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		d, _ := MustCreateDocument(t, db, m, owner.ID, "memo.pdf")
		for _, n := range []int{1, 3, 10} {
			v := newVersion(t, db, d, n, owner.ID)
			wantCode(t, db.AddVersion(ctx, v), vault.ECONFLICT)
		}
	})

	t.Run("ErrConflict/Trashed", func(t *testing.T) {
		d, _ := MustCreateDocument(t, db, m, owner.ID, "old.pdf")
		d.Trashed = true
		if err := db.UpdateDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.AddVersion(ctx, newVersion(t, db, d, 2, owner.ID)), vault.ECONFLICT)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		theirs, _ := MustCreateDocument(t, db, om, otherOwner.ID, "theirs.pdf")
		mine, _ := MustCreateDocument(t, db, m, owner.ID, "mine.pdf")
		for _, tt := range []struct {
			name string
			v    *vault.Version
		}{
			{"MissingDocument", newVersion(t, db, &vault.Document{TenantID: tenant.ID, ID: vault.NewID(vault.PrefixDocument)}, 2, owner.ID)},
			{"OtherTenantsDocument", newVersion(t, db, &vault.Document{TenantID: tenant.ID, ID: theirs.ID}, 2, owner.ID)},
			{"CreatorOfOtherTenant", newVersion(t, db, mine, 2, otherOwner.ID)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.AddVersion(ctx, tt.v), vault.ENOTFOUND)
			})
		}
		if got, err := db.Document(ctx, other.ID, theirs.ID); err != nil || got.CurrentVersion != 1 {
			t.Errorf("their document = %+v, %v; want unchanged at version 1", got, err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		d, _ := MustCreateDocument(t, db, m, owner.ID, "x.pdf")
		v := newVersion(t, db, d, 0, owner.ID)
		wantCode(t, db.AddVersion(ctx, v), vault.EINVALID)
		v = newVersion(t, db, d, 2, owner.ID)
		v.BlobKey = ""
		wantCode(t, db.AddVersion(ctx, v), vault.EINVALID)
	})
}

// Of concurrent callers adding the same version number, exactly one wins and
// the others get conflict, round after round.
func TestDB_AddVersion_Race(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	_, owner := MustCreateTenant(t, db, "Firm")
	m := MustCreateMatter(t, db, owner, "Matter", "Client")
	d, _ := MustCreateDocument(t, db, m, owner.ID, "hot.pdf")

	const callers, rounds = 8, 4
	for n := 2; n < 2+rounds; n++ {
		vs := make([]*vault.Version, callers)
		errs := make([]error, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			vs[i] = newVersion(t, db, d, n, owner.ID)
			wg.Go(func() {
				<-start
				// Readers run beside the writers, as the key manager does.
				if _, err := db.Document(ctx, d.TenantID, d.ID); err != nil {
					errs[i] = err
					return
				}
				errs[i] = db.AddVersion(ctx, vs[i])
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch vault.ErrorCode(err) {
			case "":
				if winner >= 0 {
					t.Fatalf("version %d: callers %d and %d both won", n, winner, i)
				}
				winner = i
			case vault.ECONFLICT:
			default:
				t.Fatalf("version %d, caller %d: %v, want nil or conflict", n, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("version %d: no caller won", n)
		}
		got, err := db.Version(ctx, d.TenantID, d.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if got.BlobKey != vs[winner].BlobKey {
			t.Errorf("version %d blob key = %q, want the winner's %q", n, got.BlobKey, vs[winner].BlobKey)
		}
	}

	got, err := db.Document(ctx, d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + rounds; got.CurrentVersion != want {
		t.Errorf("CurrentVersion = %d, want %d", got.CurrentVersion, want)
	}
	versions, err := db.Versions(ctx, d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + rounds; len(versions) != want {
		t.Errorf("len(Versions) = %d, want %d", len(versions), want)
	}
}

func TestDB_Version(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")
	d, _ := MustCreateDocument(t, db, MustCreateMatter(t, db, owner, "M", "C"), owner.ID, "a.pdf")
	theirs, _ := MustCreateDocument(t, db, MustCreateMatter(t, db, otherOwner, "M", "C"), otherOwner.ID, "b.pdf")

	for _, tt := range []struct {
		name, tenantID, docID string
		n                     int
	}{
		{"MissingNumber", tenant.ID, d.ID, 2},
		{"MissingDocument", tenant.ID, vault.NewID(vault.PrefixDocument), 1},
		{"OtherTenant", tenant.ID, theirs.ID, 1},
		{"OtherTenantReverse", other.ID, d.ID, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := db.Version(ctx, tt.tenantID, tt.docID, tt.n)
			wantCode(t, err, vault.ENOTFOUND)
			if v != nil {
				t.Errorf("Version = %+v, want nil", v)
			}
		})
	}
	t.Run("Versions/ErrNotFound", func(t *testing.T) {
		_, err := db.Versions(ctx, tenant.ID, theirs.ID)
		wantCode(t, err, vault.ENOTFOUND)
		_, err = db.Versions(ctx, tenant.ID, vault.NewID(vault.PrefixDocument))
		wantCode(t, err, vault.ENOTFOUND)
	})
}
