package residency_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
)

// TestBuild: the report of a ca firm lists its objects only (not another
// ca firm's), each with its size and SHA-256, says what the scan of the us
// cell read (its SQLite files, WAL included, and its store's objects), and
// verifies with the ca key.
func TestBuild(t *testing.T) {
	f := newCellFixture(t)
	signed, r := f.build(t)
	if got, want := r.Objects, int64(2); got != want {
		t.Errorf("objects: got %d, want %d", got, want)
	}
	if got, want := r.Bytes, int64(len("ciphertext one")+70_000); got != want {
		t.Errorf("bytes: got %d, want %d", got, want)
	}
	if got, want := r.Stores[0].List[0], (residency.Object{Key: caFirm + "/doc_1/v1", Size: 14, SHA256: sha256Hex([]byte("ciphertext one"))}); got != want {
		t.Errorf("first object: got %+v, want %+v", got, want)
	}
	us := r.OtherCells[0]
	if us.Region != "us" || us.Hits != 0 || us.Needles != 3 {
		t.Errorf("us cell: got region %s, %d hits, %d needles; want us, 0, 3 (the firm id and 2 given)", us.Region, us.Hits, us.Needles)
	}
	// casevault.db, its -wal and -shm, and the us firm's blob.
	if us.Files < 4 || us.Objects != 1 || us.Stores[0].Objects != 1 {
		t.Errorf("us cell scanned %d files and %d objects; want at least 4 files (db, -wal, -shm, blob) and 1 object", us.Files, us.Objects)
	}
	if got, want := r.GeneratedAt.Time, f.in.Now(); !got.Equal(want) {
		t.Errorf("generated_at: got %s, want %s", got, want)
	}
	got, err := residency.Verify(signed, []string{f.ca.vkey})
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, signed)
	}
	if got.ObjectsSHA256 != r.ObjectsSHA256 || got.Tenant != caFirm || len(got.Moves) != 1 {
		t.Errorf("Verify returned %+v, want the report built", got)
	}
}

// TestBuild_Found: something of the firm anywhere in another cell — a row
// in the SQLite WAL, a blob, a blob's key — fails the build with a
// conflict that names where.
func TestBuild_Found(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(f *cellFixture)
		where string
	}{
		{"RowInWAL", func(f *cellFixture) {
			sqliteWAL(t, filepath.Join(f.usDir, "audit.db"), "event by ann@ca.example")
		}, "audit.db-wal"},
		{"Marker in a blob", func(f *cellFixture) {
			put(t, f.usStore, "ten_usfirm/doc_4/v1", []byte("xxMARKER-CA-7f3exx"))
		}, "ten_usfirm/doc_4/v1"},
		{"Key of a blob", func(f *cellFixture) {
			put(t, f.usStore, caFirm+"/doc_1/v1", []byte("left behind"))
		}, "object key " + caFirm + "/doc_1/v1"},
		{"Extra file", func(f *cellFixture) {
			p := filepath.Join(t.TempDir(), "us-backup.tmp")
			sqliteWAL(t, p, caFirm)
			f.in.OtherCells[0].Files = []string{p, p + "-wal"}
		}, "us-backup.tmp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCellFixture(t)
			tc.plant(f)
			_, err := residency.Build(context.Background(), f.in)
			var fe *residency.FoundError
			if !errors.As(err, &fe) || !vault.IsCode(err, vault.ECONFLICT) {
				t.Fatalf("Build: got %v, want a conflict with a *FoundError", err)
			}
			if fe.Region != "us" || !strings.Contains(err.Error(), tc.where) {
				t.Errorf("Build: got %v, want region us and %q named", err, tc.where)
			}
		})
	}
}

// TestBuild_Invalid: input that cannot make a true report is refused.
func TestBuild_Invalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(in *residency.Input)
	}{
		{"NoTenant", func(in *residency.Input) { in.Tenant = "" }},
		{"BadRegion", func(in *residency.Input) { in.Region = "CA" }},
		{"NoStore", func(in *residency.Input) { in.Stores = nil }},
		{"NoPrefix", func(in *residency.Input) { in.Stores[0].Prefix = "" }},
		{"PrefixOfAnotherFirm", func(in *residency.Input) { in.Stores[0].Prefix = "ten_otherca/" }},
		{"EmptyNeedle", func(in *residency.Input) { in.Needles = append(in.Needles, nil) }},
		{"OwnRegionScanned", func(in *residency.Input) { in.OtherCells[0].Region = "ca" }},
		{"CredentialsInEndpoint", func(in *residency.Input) {
			in.Stores[0].Desc = residency.StoreDesc{Kind: residency.KindS3, Endpoint: "key:secret@s3.example", Bucket: "b"}
		}},
		{"MoveNotHere", func(in *residency.Input) { in.Moves[0].To = "eu" }},
		{"MoveUnfinished", func(in *residency.Input) { in.Moves[0].Finished = residency.Time{} }},
		{"MoveAfterReport", func(in *residency.Input) { in.Now = fixedClock(time.Date(2026, 3, 1, 10, 1, 0, 0, time.UTC)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCellFixture(t)
			tc.change(&f.in)
			if _, err := residency.Build(context.Background(), f.in); !vault.IsCode(err, vault.EINVALID) {
				t.Errorf("Build: got %v, want invalid", err)
			}
		})
	}
}

// TestSign_WrongKey: a report is signed only by its region's audit key.
func TestSign_WrongKey(t *testing.T) {
	f := newCellFixture(t)
	r, err := residency.Build(context.Background(), f.in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Sign(f.us.signer); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("Sign with the us key: got %v, want invalid", err)
	}
}
