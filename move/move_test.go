package move_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// TestMover_Run moves a firm from us to ca: afterwards it is served from
// ca (sign-in, list, byte-identical downloads), the us cell holds nothing
// of it, and the firms that stay are untouched.
func TestMover_Run(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	f := newFirm(t, c, "us", "mover", 7)
	stay := newFirm(t, c, "us", "stays", 2)
	other := newFirm(t, c, "ca", "maple", 2)

	res, err := c.mover().Run(ctx, f.id, "ca", move.StepDone)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Step != move.StepDone || res.From != "us" || res.To != "ca" || res.Blobs.Copied != 7 || res.Rows == 0 || res.Deleted != res.Rows {
		t.Fatalf("Run = %+v", res)
	}
	checkServed(t, c, f, "ca")
	checkServed(t, c, stay, "us")
	checkServed(t, c, other, "ca")
	checkGone(t, c, f, "us")
	if _, err := c.router.Service.Move(ctx, f.id); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Fatalf("moves row after the move: %v, want not_found", err)
	}

	// The same data reopened (Repair) says the same.
	c.close()
	c = openCells(t, c.dir)
	checkServed(t, c, f, "ca")
	checkGone(t, c, f, "us")

	t.Run("Again", func(t *testing.T) {
		res, err := c.mover().Run(ctx, f.id, "ca", move.StepDone)
		if err != nil || !res.Already {
			t.Fatalf("Run again = %+v, %v; want already", res, err)
		}
	})
	t.Run("Back", func(t *testing.T) {
		if _, err := c.mover().Run(ctx, f.id, "us", move.StepDone); err != nil {
			t.Fatalf("Run back: %v", err)
		}
		checkServed(t, c, f, "us")
		checkGone(t, c, f, "ca")
		checkServed(t, c, other, "ca")
	})
	t.Run("Errors", func(t *testing.T) {
		for name, tc := range map[string]struct {
			tenant, to, code string
		}{
			"UnknownFirm":   {vault.NewID(vault.PrefixTenant), "ca", vault.ENOTFOUND},
			"UnknownRegion": {f.id, "eu", vault.EINVALID},
		} {
			if _, err := c.mover().Run(ctx, tc.tenant, tc.to, move.StepDone); vault.ErrorCode(err) != tc.code {
				t.Errorf("%s: Run = %v, want %s", name, err, tc.code)
			}
		}
	})
}

// TestMover_Resume stops a move after each step in turn, as a crash would
// (the process closed, nothing of it kept in memory), reopens the data and
// checks that the firm is served from exactly one region — the old one
// before the switch, the new one after it — then reruns the move to the
// end and checks the final state.
func TestMover_Resume(t *testing.T) {
	ctx := context.Background()
	for _, step := range move.Steps[:len(move.Steps)-1] {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			c := openCells(t, dir)
			f := newFirm(t, c, "us", "resume", 3)
			if _, err := c.mover().Run(ctx, f.id, "ca", step); err != nil {
				t.Fatalf("Run to %s: %v", step, err)
			}
			c.close()
			c = openCells(t, dir)
			want := "us"
			if step == move.StepSwitch || step == move.StepAdopt || step == move.StepCleanup {
				want = "ca"
			}
			checkServed(t, c, f, want)
			res, err := c.mover().Run(ctx, f.id, "ca", move.StepDone)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if res.Resumed != step {
				t.Fatalf("rerun resumed after %q, want %q", res.Resumed, step)
			}
			checkServed(t, c, f, "ca")
			checkGone(t, c, f, "us")
		})
	}
}

// TestMover_Freeze stops after the freeze in the same process: the firm
// answers unavailable, sign-in included, while another firm of the same
// cell works; the finished move thaws it in its new region.
func TestMover_Freeze(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	f := newFirm(t, c, "us", "frozen", 1)
	stay := newFirm(t, c, "us", "stays", 1)
	if _, err := c.mover().Run(ctx, f.id, "ca", move.StepCopyMetadata); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.svc.Login(ctx, f.emails[0], f.passwords[f.emails[0]], "127.0.0.1"); vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("Login while frozen: %v, want unavailable", err)
	}
	if _, err := c.svc.Tenant(ctx, f.id); vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("Tenant while frozen: %v, want unavailable", err)
	}
	checkServed(t, c, stay, "us")
	if _, err := c.mover().Run(ctx, f.id, "ca", move.StepDone); err != nil {
		t.Fatal(err)
	}
	checkServed(t, c, f, "ca")
}

// TestMover_StoreOutage makes the new region's store fail in the middle of
// the copy: the move fails with unavailable and records it, the firm is
// still served from us, and a rerun once the store is back finishes it,
// skipping the objects already copied.
func TestMover_StoreOutage(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	f := newFirm(t, c, "us", "outage", 6)
	mv := c.mover()
	flaky := &failingStore{BlobStore: c.stores["ca"], after: 3}
	mv.Stores = map[string]vault.BlobStore{"us": c.stores["us"], "ca": flaky}
	mv.Workers = 1
	if _, err := mv.Run(ctx, f.id, "ca", move.StepDone); vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("Run with a failing store: %v, want unavailable", err)
	}
	rec, err := c.router.Service.Move(ctx, f.id)
	if err != nil || rec.LastError != vault.EUNAVAILABLE || rec.Step != string(move.StepPrepare) {
		t.Fatalf("moves row = %+v, %v", rec, err)
	}
	checkServed(t, c, f, "us")
	flaky.after = -1
	res, err := mv.Run(ctx, f.id, "ca", move.StepDone)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Blobs.Skipped != 3 || res.Blobs.Copied != 3 {
		t.Fatalf("rerun blobs = %+v, want the 3 copied before the outage skipped, 3 copied", res.Blobs)
	}
	checkServed(t, c, f, "ca")
	checkGone(t, c, f, "us")
}

// TestMover_BadCopy makes the new store keep different bytes than it was
// given: the check after the copy catches it and the move stops.
func TestMover_BadCopy(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	f := newFirm(t, c, "us", "badcopy", 2)
	mv := c.mover()
	mv.Stores = map[string]vault.BlobStore{"us": c.stores["us"], "ca": &corruptingStore{BlobStore: c.stores["ca"]}}
	if _, err := mv.Run(ctx, f.id, "ca", move.StepDone); vault.ErrorCode(err) != vault.EUNAVAILABLE {
		t.Fatalf("Run with a corrupting store: %v, want unavailable", err)
	}
	checkServed(t, c, f, "us")
}

// failingStore fails every Put after the first after ones (after < 0:
// never).
type failingStore struct {
	vault.BlobStore
	after int
	puts  int
}

func (s *failingStore) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	if s.after >= 0 && s.puts >= s.after {
		return 0, vault.WrapError(vault.EUNAVAILABLE, errors.New("connection refused"), "Store unavailable.")
	}
	s.puts++
	return s.BlobStore.Put(ctx, key, r, size)
}

// corruptingStore flips the first byte of what it stores.
type corruptingStore struct{ vault.BlobStore }

func (s *corruptingStore) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	return s.BlobStore.Put(ctx, key, &flipFirst{r: r}, size)
}

type flipFirst struct {
	r    io.Reader
	done bool
}

func (f *flipFirst) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.done {
		p[0] ^= 0xff
		f.done = true
	}
	return n, err
}

// TestMover_Large moves a firm of 200 documents, one of them large
// (64 MiB; CASEVAULT_BENCH_SIZE sets it, e.g. 1GiB), between real fs
// stores: every document downloads byte-identical from ca afterwards and
// the us cell holds nothing of the firm. cmd/casevault's
// TestTenantMove_Final does the same through the command with the audit
// log, with a document of 1 GiB.
func TestMover_Large(t *testing.T) {
	ctx := context.Background()
	c := openCells(t, t.TempDir())
	big := vaulttest.BenchSize(t, 64<<20)
	f := newFirm(t, c, "us", "large", 199)
	addDocument(t, c, f, big)
	res, err := c.mover().Run(ctx, f.id, "ca", move.StepDone)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Blobs.Copied != 200 {
		t.Fatalf("copied %d objects, want 200", res.Blobs.Copied)
	}
	t.Logf("moved %d objects, %d bytes, in %.1f s", res.Blobs.Copied, res.Blobs.Bytes, res.Seconds)
	checkServed(t, c, f, "ca")
	checkGone(t, c, f, "us")
}

// TestMover_ResumeAfterUse stops a move after its metadata copy, serves
// the firm from us again (a server started before the rerun: the freeze
// is gone with the process), where a document and a user are added; the
// rerun redoes the steps from the freeze on, so both arrive in ca.
func TestMover_ResumeAfterUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := openCells(t, dir)
	f := newFirm(t, c, "us", "used", 2)
	if _, err := c.mover().Run(ctx, f.id, "ca", move.StepCopyMetadata); err != nil {
		t.Fatal(err)
	}
	c.close()
	c = openCells(t, dir)
	addDocument(t, c, f, 5<<20)
	email := "late@used.example"
	_, pw, err := c.svc.AddUser(ctx, f.id, vault.NewUser{Email: email, Name: "Late Joiner", Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	f.emails, f.passwords[email] = append(f.emails, email), pw
	f.markers = append(f.markers, email)
	checkServed(t, c, f, "us")
	res, err := c.mover().Run(ctx, f.id, "ca", move.StepDone)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Blobs.Copied != 1 {
		t.Fatalf("rerun copied %d objects, want the 1 added", res.Blobs.Copied)
	}
	checkServed(t, c, f, "ca")
	checkGone(t, c, f, "us")
}

// TestMover_MinIO moves a firm between two real S3 buckets on MinIO, one
// per region: it is served from ca afterwards and the us bucket holds no
// object of it.
func TestMover_MinIO(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Shared(t, s3test.KindMinIO)
	dir := t.TempDir()
	c := openCells(t, dir)
	mv := c.mover()
	stores := map[string]vault.BlobStore{"us": srv.NewStore(t, "move-us"), "ca": srv.NewStore(t, "move-ca")}
	c.svc.Regions, c.stores, mv.Stores = stores, stores, stores
	f := newFirm(t, c, "us", "bucket", 5)
	addDocument(t, c, f, 20<<20)
	if _, err := mv.Run(ctx, f.id, "ca", move.StepDone); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkServed(t, c, f, "ca")
	checkGone(t, c, f, "us")
}

// TestMover_SwitchedNotRecorded stops a move as a crash inside the switch
// step would: the directory names ca, the step is not recorded. The firm
// is served from ca and used there; the rerun notices the switch and does
// not copy the old cell's rows again over what ca has since.
func TestMover_SwitchedNotRecorded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := openCells(t, dir)
	f := newFirm(t, c, "us", "midswitch", 2)
	if _, err := c.mover().Run(ctx, f.id, "ca", move.StepCopyAudit); err != nil {
		t.Fatal(err)
	}
	if err := c.router.Switch(ctx, f.id, "ca"); err != nil {
		t.Fatal(err)
	}
	c.close()
	c = openCells(t, dir)
	email := "after-switch@midswitch.example"
	_, pw, err := c.svc.AddUser(ctx, f.id, vault.NewUser{Email: email, Name: "Joined In CA", Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	f.emails, f.passwords[email] = append(f.emails, email), pw
	f.markers = append(f.markers, email)
	checkServed(t, c, f, "ca")
	res, err := c.mover().Run(ctx, f.id, "ca", move.StepDone)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Resumed != move.StepCopyAudit || res.Rows != 0 {
		t.Fatalf("rerun resumed after %q and copied %d rows, want after copy_audit and none", res.Resumed, res.Rows)
	}
	checkServed(t, c, f, "ca")
	checkGone(t, c, f, "us")
}
