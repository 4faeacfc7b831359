package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// MustCreateWall walls user off from m, created by by. Fatal on error.
func MustCreateWall(tb testing.TB, db *sqlite.DB, m *vault.Matter, user, by string) *vault.Wall {
	tb.Helper()
	w := &vault.Wall{TenantID: m.TenantID, MatterID: m.ID, UserID: user, CreatedBy: by}
	if err := db.CreateWall(context.Background(), w); err != nil {
		tb.Fatalf("CreateWall: %v", err)
	}
	return w
}

// wallKeys returns matter/user pairs of ws, in order.
func wallKeys(ws ...*vault.Wall) string {
	keys := make([]string, len(ws))
	for i, w := range ws {
		keys[i] = w.MatterID + "/" + w.UserID
	}
	return fmt.Sprint(keys)
}

func TestDB_CreateWall(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db

	t.Run("OK", func(t *testing.T) {
		w := &vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: f.lawyer.ID, CreatedBy: f.owner.ID}
		if err := db.CreateWall(ctx, w); err != nil {
			t.Fatalf("CreateWall: %v", err)
		}
		if !w.CreatedAt.Equal(f.now) {
			t.Errorf("CreatedAt = %v, want %v", w.CreatedAt, f.now)
		}
		got, err := db.Walls(ctx, f.tenant.ID, vault.WallFilter{MatterID: f.matter.ID, UserID: f.lawyer.ID})
		if err != nil {
			t.Fatalf("Walls: %v", err)
		}
		if len(got) != 1 || *got[0] != *w || got[0].CreatedAt.Location() != time.UTC {
			t.Errorf("Walls = %+v, want [%+v] in UTC", got, w)
		}
	})

	t.Run("GivenTime", func(t *testing.T) {
		user := MustCreateUser(t, db, f.tenant.ID, vault.RoleLawyer)
		at := time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("UTC+9", 9*3600))
		w := &vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: user.ID, CreatedBy: f.owner.ID, CreatedAt: at}
		if err := db.CreateWall(ctx, w); err != nil {
			t.Fatal(err)
		}
		got, err := db.Walls(ctx, f.tenant.ID, vault.WallFilter{UserID: user.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[0].CreatedAt.Equal(at) || got[0].CreatedAt.Location() != time.UTC {
			t.Errorf("Walls = %+v, want CreatedAt %v in UTC", got, at)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		user := MustCreateUser(t, db, f.tenant.ID, vault.RoleLawyer)
		MustCreateWall(t, db, f.matter, user.ID, f.owner.ID)
		// Whoever builds it, and whenever, the same wall exists once.
		err := db.CreateWall(ctx, &vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: user.ID,
			CreatedBy: f.lawyer.ID, CreatedAt: f.now.Add(time.Hour)})
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			w    vault.Wall
		}{
			{"NoTenant", vault.Wall{MatterID: f.matter.ID, UserID: f.lawyer.ID, CreatedBy: f.owner.ID}},
			{"NoMatter", vault.Wall{TenantID: f.tenant.ID, UserID: f.lawyer.ID, CreatedBy: f.owner.ID}},
			{"NoUser", vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, CreatedBy: f.owner.ID}},
			{"NoCreator", vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: f.lawyer.ID}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateWall(ctx, &tt.w), vault.EINVALID)
			})
		}
		wantCode(t, db.CreateWall(ctx, nil), vault.EINVALID)
	})

	// Every reference must be in the wall's firm: one of another firm is not
	// found, exactly like a missing one.
	t.Run("ErrNotFound", func(t *testing.T) {
		user := MustCreateUser(t, db, f.tenant.ID, vault.RoleLawyer)
		for _, tt := range []struct {
			name string
			w    vault.Wall
		}{
			{"Tenant", vault.Wall{TenantID: vault.NewID(vault.PrefixTenant), MatterID: f.matter.ID, UserID: user.ID, CreatedBy: f.owner.ID}},
			{"OtherFirm", vault.Wall{TenantID: f.other.ID, MatterID: f.matter.ID, UserID: user.ID, CreatedBy: f.owner.ID}},
			{"Matter", vault.Wall{TenantID: f.tenant.ID, MatterID: vault.NewID(vault.PrefixMatter), UserID: user.ID, CreatedBy: f.owner.ID}},
			{"MatterOfOtherFirm", vault.Wall{TenantID: f.tenant.ID, MatterID: f.otherMatter.ID, UserID: user.ID, CreatedBy: f.owner.ID}},
			{"User", vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: vault.NewID(vault.PrefixUser), CreatedBy: f.owner.ID}},
			{"UserOfOtherFirm", vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: f.otherOwner.ID, CreatedBy: f.owner.ID}},
			{"Creator", vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: user.ID, CreatedBy: vault.NewID(vault.PrefixUser)}},
			{"CreatorOfOtherFirm", vault.Wall{TenantID: f.tenant.ID, MatterID: f.matter.ID, UserID: user.ID, CreatedBy: f.otherOwner.ID}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateWall(ctx, &tt.w), vault.ENOTFOUND)
			})
		}
		got, err := db.Walls(ctx, f.tenant.ID, vault.WallFilter{UserID: user.ID})
		if err != nil || len(got) != 0 {
			t.Errorf("Walls after failed creates = %+v, %v; want none", got, err)
		}
	})
}

func TestDB_DeleteWall(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db
	w := MustCreateWall(t, db, f.matter, f.lawyer.ID, f.owner.ID)
	ow := MustCreateWall(t, db, f.otherMatter, f.otherOwner.ID, f.otherOwner.ID)

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct{ name, tenantID, matterID, userID string }{
			{"AsOtherFirm", f.other.ID, w.MatterID, w.UserID},
			{"OtherFirmsWall", f.tenant.ID, ow.MatterID, ow.UserID},
			{"OtherUser", f.tenant.ID, w.MatterID, f.owner.ID},
			{"OtherMatter", f.tenant.ID, vault.NewID(vault.PrefixMatter), w.UserID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.DeleteWall(ctx, tt.tenantID, tt.matterID, tt.userID), vault.ENOTFOUND)
			})
		}
		for _, x := range []*vault.Wall{w, ow} {
			got, err := db.Walls(ctx, x.TenantID, vault.WallFilter{})
			if err != nil || len(got) != 1 {
				t.Errorf("Walls(%s) = %+v, %v; want one left", x.TenantID, got, err)
			}
		}
	})

	if err := db.DeleteWall(ctx, f.tenant.ID, w.MatterID, w.UserID); err != nil {
		t.Fatalf("DeleteWall: %v", err)
	}
	got, err := db.Walls(ctx, f.tenant.ID, vault.WallFilter{})
	if err != nil || len(got) != 0 {
		t.Errorf("Walls after delete = %+v, %v; want none", got, err)
	}
	wantCode(t, db.DeleteWall(ctx, f.tenant.ID, w.MatterID, w.UserID), vault.ENOTFOUND)
	// Deleted, it can be built again.
	MustCreateWall(t, db, f.matter, f.lawyer.ID, f.owner.ID)
}

func TestDB_Walls(t *testing.T) {
	ctx := context.Background()
	f := newGrantFixture(t, "")
	db := f.db
	m2 := MustCreateMatter(t, db, f.owner, "Second", "Client 2")
	colleague := MustCreateUser(t, db, f.tenant.ID, vault.RoleLawyer)
	newWall := func(m *vault.Matter, user string) *vault.Wall {
		f.tick()
		return MustCreateWall(t, db, m, user, f.owner.ID)
	}
	w1 := newWall(m2, f.lawyer.ID)
	w2 := newWall(f.matter, f.lawyer.ID)
	w3 := newWall(f.matter, colleague.ID)
	MustCreateWall(t, db, f.otherMatter, f.otherOwner.ID, f.otherOwner.ID)

	for _, tt := range []struct {
		name     string
		tenantID string
		f        vault.WallFilter
		want     []*vault.Wall
	}{
		{"All", f.tenant.ID, vault.WallFilter{}, []*vault.Wall{w1, w2, w3}},
		{"Matter", f.tenant.ID, vault.WallFilter{MatterID: f.matter.ID}, []*vault.Wall{w2, w3}},
		{"User", f.tenant.ID, vault.WallFilter{UserID: f.lawyer.ID}, []*vault.Wall{w1, w2}},
		{"MatterAndUser", f.tenant.ID, vault.WallFilter{MatterID: f.matter.ID, UserID: colleague.ID}, []*vault.Wall{w3}},
		{"Unwalled", f.tenant.ID, vault.WallFilter{MatterID: m2.ID, UserID: colleague.ID}, nil},
		{"OtherFirmsMatter", f.tenant.ID, vault.WallFilter{MatterID: f.otherMatter.ID}, nil},
		{"OtherFirm", f.other.ID, vault.WallFilter{UserID: f.lawyer.ID}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Walls(ctx, tt.tenantID, tt.f)
			if err != nil {
				t.Fatalf("Walls: %v", err)
			}
			if got, want := wallKeys(got...), wallKeys(tt.want...); got != want {
				t.Fatalf("Walls = %s, want %s", got, want)
			}
			for i := range got {
				if *got[i] != *tt.want[i] {
					t.Errorf("Walls[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// The schema itself refuses a wall that points into another firm, and finds
// walls by user and by matter through indexes.
func TestSchema_Walls(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	f := newGrantFixture(t, path)
	raw := rawDB(t, path)

	for _, tt := range []struct{ name, matter, user, by string }{
		{"MatterOfOtherFirm", f.otherMatter.ID, f.lawyer.ID, f.owner.ID},
		{"UserOfOtherFirm", f.matter.ID, f.otherOwner.ID, f.owner.ID},
		{"CreatorOfOtherFirm", f.matter.ID, f.lawyer.ID, f.otherOwner.ID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := raw.ExecContext(ctx, `
				INSERT INTO walls (tenant_id, matter_id, user_id, created_by, created_at)
				VALUES (?, ?, ?, ?, '2026-01-01T00:00:00.000000000Z')`,
				f.tenant.ID, tt.matter, tt.user, tt.by)
			if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
				t.Errorf("INSERT = %v, want a FOREIGN KEY error", err)
			}
		})
	}

	const cols = `tenant_id, matter_id, user_id, created_by, created_at`
	for _, tt := range []struct{ name, query, want string }{
		{"ByUser", `SELECT ` + cols + ` FROM walls WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, matter_id, user_id`,
			"(tenant_id=? AND user_id=?)"},
		{"ByMatter", `SELECT ` + cols + ` FROM walls WHERE tenant_id = ? AND matter_id = ? ORDER BY created_at, matter_id, user_id`,
			"(tenant_id=? AND matter_id=?)"},
		{"One", `SELECT ` + cols + ` FROM walls WHERE tenant_id = ? AND matter_id = ? AND user_id = ? ORDER BY created_at, matter_id, user_id`,
			"(tenant_id=? AND matter_id=? AND user_id=?)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]any, strings.Count(tt.query, "?"))
			for i := range args {
				args[i] = "x"
			}
			plan := queryPlan(t, raw, tt.query, args...)
			if !strings.Contains(plan, "SEARCH walls USING") || !strings.Contains(plan, tt.want) {
				t.Errorf("plan does not search an index on %s:\n%s", tt.want, plan)
			}
		})
	}
}
