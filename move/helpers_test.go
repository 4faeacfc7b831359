package move_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/cell"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/sqlite"
	"github.com/casevault/casevault/vault/vaulttest"
)

// cells is a process over two real cells, us and ca, in dir: the service
// database, each cell's database and fs blob store (in the cell
// directory, as the server lays them out), file master keys and index
// keys. The audit log is vaulttest.MemAudit: these tests cover every step
// but the audit log's, which cmd/casevault's move tests cover with the
// real logs.
type cells struct {
	dir    string
	router *cell.Router
	keys   *keys.Manager
	svc    *vault.Service
	stores map[string]vault.BlobStore
}

var regions = []string{"us", "ca"}

func (c *cells) cellDir(region string) string { return filepath.Join(c.dir, "regions", region) }

// openCells opens (or reopens: the same data) the process in dir; it is
// closed by tb.Cleanup or by close.
func openCells(tb testing.TB, dir string) *cells {
	tb.Helper()
	ctx := context.Background()
	service, err := sqlite.Open(ctx, filepath.Join(dir, "service.db"))
	if err != nil {
		tb.Fatal(err)
	}
	c := &cells{dir: dir, stores: map[string]vault.BlobStore{}}
	dbs := map[string]*sqlite.DB{}
	masters := map[string]keys.MasterKey{}
	for _, r := range regions {
		if dbs[r], err = sqlite.Open(ctx, filepath.Join(c.cellDir(r), "casevault.db")); err != nil {
			tb.Fatal(err)
		}
		if c.stores[r], err = fs.New(c.cellDir(r)); err != nil {
			tb.Fatal(err)
		}
		if masters[r], err = keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "keys", r+"-master.json")); err != nil {
			tb.Fatal(err)
		}
	}
	c.router = cell.New(service, dbs)
	if err := c.router.Repair(ctx); err != nil {
		tb.Fatalf("Repair: %v", err)
	}
	if c.keys, err = keys.NewManager(masters, c.router); err != nil {
		tb.Fatal(err)
	}
	c.router.SetSealer(c.keys)
	c.svc = vault.NewService(c.router, c.keys, c.stores, zerolog.Nop())
	c.svc.PasswordParams = vaulttest.FastPasswords
	c.svc.Audit = &vaulttest.MemAudit{}
	if c.svc.Indexer, err = keys.LoadOrCreateIndexer(ctx, masters, "us", func(name string) string {
		return filepath.Join(dir, "keys", name+"-index.json")
	}); err != nil {
		tb.Fatal(err)
	}
	c.router.Indexer = c.svc.Indexer
	tb.Cleanup(func() { c.close() })
	return c
}

func (c *cells) close() {
	if c.router != nil {
		c.router.Close()
		c.router = nil
	}
}

// mover returns a Mover over c, with the audit steps left out.
func (c *cells) mover() *move.Mover {
	return &move.Mover{
		Cells: c.router, Stores: c.stores, Keys: c.keys, Indexer: c.svc.Indexer, Audit: noAudit{},
		Switched: c.svc.ForgetRegion, Log: zerolog.Nop(),
	}
}

// noAudit is the audit carrier of these tests, which have no audit log.
type noAudit struct{}

func (noAudit) Check(string, string) error                                        { return nil }
func (noAudit) Handover(context.Context, string, string, string, time.Time) error { return nil }
func (noAudit) Copy(context.Context, string, string, string) error                { return nil }
func (noAudit) SwitchIn(context.Context, string, string, string) error            { return nil }
func (noAudit) SwitchOut(context.Context, string, string, string) error           { return nil }
func (noAudit) Adopt(context.Context, string, string) error                       { return nil }
func (noAudit) Drop(context.Context, string, string) error                        { return nil }

// firm is a firm made for a test, with what identifies it.
type firm struct {
	id        string
	emails    []string
	passwords map[string]string // email → password
	markers   []string          // strings of the firm's that only its rows hold
	docs      map[string][]byte // document id → content
	// large is a document too large to keep: its content is
	// vaulttest.NewGen(99, largeSize).
	large     string
	largeSize int64
}

// newFirm creates a firm in region with an owner, a lawyer, a matter, n
// documents (sizes cycling through a few part boundaries), a grant and a
// wall, named with marker strings.
func newFirm(tb testing.TB, c *cells, region, tag string, n int) *firm {
	tb.Helper()
	ctx := context.Background()
	mark := "MARKER" + strings.ToUpper(tag)
	f := &firm{passwords: map[string]string{}, docs: map[string][]byte{}}
	ownerEmail := "owner-" + tag + "@" + tag + ".example"
	t, owner, pw, err := c.svc.CreateTenant(ctx, vault.NewTenant{Name: mark + " Firm LLP", Region: region,
		Owner: vault.NewUser{Email: ownerEmail, Name: mark + " Owner"}})
	if err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	f.id = t.ID
	f.emails = append(f.emails, ownerEmail)
	f.passwords[ownerEmail] = pw
	lawyerEmail := "lawyer-" + tag + "@" + tag + ".example"
	lawyer, lpw, err := c.svc.AddUser(ctx, t.ID, vault.NewUser{Email: lawyerEmail, Name: mark + " Lawyer", Role: vault.RoleLawyer})
	if err != nil {
		tb.Fatalf("AddUser: %v", err)
	}
	f.emails = append(f.emails, lawyerEmail)
	f.passwords[lawyerEmail] = lpw
	m, err := c.svc.CreateMatter(ctx, owner, mark+" Matter", mark+" Client")
	if err != nil {
		tb.Fatalf("CreateMatter: %v", err)
	}
	sizes := []int{0, 1, 3000, 70_000, 1<<20 + 3}
	var first string
	for i := range n {
		content := vaulttest.GenBytes(byte(i+len(tag)), 0, int64(sizes[i%len(sizes)]))
		d, err := c.svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: fmt.Sprintf("%s doc %d.pdf", mark, i), ContentType: "application/pdf"},
			bytes.NewReader(content), int64(len(content)))
		if err != nil {
			tb.Fatalf("PutDocument: %v", err)
		}
		f.docs[d.ID] = content
		if first == "" {
			first = d.ID
		}
	}
	if first != "" {
		if _, _, err := c.svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: lawyer.ID, DocumentID: first, Permissions: []vault.Permission{vault.PermRead, vault.PermDownload}}); err != nil {
			tb.Fatalf("CreateGrant: %v", err)
		}
	}
	m2, err := c.svc.CreateMatter(ctx, owner, mark+" Walled Matter", mark+" Walled Client")
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := c.svc.AddWall(ctx, owner, m2.ID, lawyer.ID); err != nil {
		tb.Fatalf("AddWall: %v", err)
	}
	f.markers = []string{mark, t.ID, ownerEmail, lawyerEmail}
	return f
}

// addDocument uploads one more document of size bytes to the firm's first
// matter, streamed (its content is regenerated to check it).
func addDocument(tb testing.TB, c *cells, f *firm, size int64) {
	tb.Helper()
	ctx := context.Background()
	var owner *vault.User
	us, err := c.router.Users(ctx, f.id)
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range us {
		if u.Role == vault.RoleOwner {
			owner = u
		}
	}
	ms, err := c.svc.Matters(ctx, owner, false)
	if err != nil || len(ms) == 0 {
		tb.Fatalf("Matters: %d, %v", len(ms), err)
	}
	d, err := c.svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: ms[0].ID, Name: "large.bin"}, vaulttest.NewGen(99, size), size)
	if err != nil {
		tb.Fatalf("PutDocument(%d bytes): %v", size, err)
	}
	f.large, f.largeSize = d.ID, size
}

// checkServed checks that the firm is served, from region: its users sign
// in, the owner lists and downloads every document byte-identical, and
// each email finds exactly one account.
func checkServed(tb testing.TB, c *cells, f *firm, region string) {
	tb.Helper()
	ctx := context.Background()
	if got, err := c.router.Region(ctx, f.id); err != nil || got != region {
		tb.Fatalf("Region = %q, %v; want %q", got, err, region)
	}
	if t, err := c.svc.Tenant(ctx, f.id); err != nil || t.Region != region {
		tb.Fatalf("Tenant = %+v, %v; want region %q", t, err, region)
	}
	all, err := c.router.Tenants(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	listed := 0
	for _, t := range all {
		if t.ID == f.id {
			listed++
			if t.Region != region {
				tb.Fatalf("Tenants lists the firm in %q, want %q", t.Region, region)
			}
		}
	}
	if listed != 1 {
		tb.Fatalf("Tenants lists the firm %d times, want once", listed)
	}
	var owner *vault.User
	for _, email := range f.emails {
		ix, err := vault.EmailIndex(ctx, c.svc.Indexer, region, email)
		if err != nil {
			tb.Fatal(err)
		}
		dirIx, err := vault.DirectoryEmailIndex(ctx, c.svc.Indexer, email)
		if err != nil {
			tb.Fatal(err)
		}
		us, err := c.router.UsersByEmailIndex(ctx, [][]byte{ix, dirIx})
		if err != nil || len(us) != 1 {
			tb.Fatalf("users with %s in %s: %d, %v; want 1", email, region, len(us), err)
		}
		secret, _, err := c.svc.Login(ctx, email, f.passwords[email], "127.0.0.1")
		if err != nil {
			tb.Fatalf("Login(%s): %v", email, err)
		}
		u, _, err := c.svc.Authenticate(ctx, secret)
		if err != nil {
			tb.Fatalf("Authenticate(%s): %v", email, err)
		}
		if u.Role == vault.RoleOwner {
			owner = u
		}
	}
	docs, err := c.svc.Documents(ctx, owner, "", false)
	if err != nil {
		tb.Fatalf("Documents: %v", err)
	}
	want := len(f.docs)
	if f.large != "" {
		want++
		checkLarge(tb, c, owner, f)
	}
	if len(docs) != want {
		tb.Fatalf("Documents: %d, want %d", len(docs), want)
	}
	for id, want := range f.docs {
		content, err := c.svc.OpenVersion(ctx, owner, id, 0, vault.PermDownload)
		if err != nil {
			tb.Fatalf("OpenVersion(%s): %v", id, err)
		}
		rc, err := content.Range(ctx, 0, -1)
		if err != nil {
			tb.Fatalf("Range(%s): %v", id, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			tb.Fatalf("download %s: %d bytes, %v; want the %d uploaded", id, len(got), err, len(want))
		}
	}
}

// checkGone checks that region's cell holds nothing of the firm: no row,
// no object, no directory, no directory email entry, and no byte of its id,
// emails or markers in any file of the cell directory.
func checkGone(tb testing.TB, c *cells, f *firm, region string) {
	tb.Helper()
	ctx := context.Background()
	db, err := c.router.CellOf(region)
	if err != nil {
		tb.Fatal(err)
	}
	if held, err := db.HoldsTenant(ctx, f.id); err != nil || held {
		tb.Fatalf("cell %s holds the firm's row: %v, %v", region, held, err)
	}
	n := 0
	c.stores[region].List(ctx, f.id+"/", func(vault.BlobInfo) error { n++; return nil })
	if n != 0 {
		tb.Fatalf("store %s holds %d objects of the firm", region, n)
	}
	for _, email := range f.emails {
		ix, err := vault.DirectoryEmailIndex(ctx, c.svc.Indexer, email)
		if err != nil {
			tb.Fatal(err)
		}
		rs, err := c.router.Service.DirectoryEmailRegions(ctx, [][]byte{ix})
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range rs {
			if r == region {
				tb.Fatalf("directory still names region %s for %s", region, email)
			}
		}
	}
	scanDir(tb, c.cellDir(region), f.markers)
}

// scanDir reads every file under dir and fails on any marker in a file's
// bytes or any file or directory name.
func scanDir(tb testing.TB, dir string, markers []string) {
	tb.Helper()
	read := 0
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		for _, m := range markers {
			if strings.Contains(strings.ToLower(info.Name()), strings.ToLower(m)) {
				tb.Errorf("%s: the name holds %q", p, m)
			}
		}
		if info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		read += len(b)
		low := bytes.ToLower(b)
		for _, m := range markers {
			if bytes.Contains(low, []byte(strings.ToLower(m))) {
				tb.Errorf("%s holds %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if read == 0 {
		tb.Fatalf("read nothing under %s", dir)
	}
}

// checkLarge downloads the firm's large document and compares it with its
// regenerated content, without holding either.
func checkLarge(tb testing.TB, c *cells, owner *vault.User, f *firm) {
	tb.Helper()
	ctx := context.Background()
	content, err := c.svc.OpenVersion(ctx, owner, f.large, 0, vault.PermDownload)
	if err != nil {
		tb.Fatalf("OpenVersion(large): %v", err)
	}
	rc, err := content.Range(ctx, 0, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	got, want := sha256.New(), sha256.New()
	n, err := io.Copy(got, rc)
	if err != nil || n != f.largeSize {
		tb.Fatalf("download large: %d bytes, %v; want %d", n, err, f.largeSize)
	}
	io.Copy(want, vaulttest.NewGen(99, f.largeSize))
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		tb.Fatal("the large document downloads with other bytes than were uploaded")
	}
}
