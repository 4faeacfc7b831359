package vault_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// grepTree returns the files under dir whose bytes contain marker.
func grepTree(t *testing.T, dir string, marker []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil // files vanish while uploads run; that is fine
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, marker) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}

// markerReader streams n bytes of a text that repeats marker, so any
// plaintext spilled to disk would contain it.
type markerReader struct {
	line []byte
	n    int64
	off  int
}

func (m *markerReader) Read(p []byte) (int, error) {
	if m.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > m.n {
		p = p[:m.n]
	}
	for i := range p {
		p[i] = m.line[m.off]
		m.off = (m.off + 1) % len(m.line)
	}
	m.n -= int64(len(p))
	return len(p), nil
}

func TestService_NothingInPlaintextAtRest(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newEnv(t, nil)
	const marker = "ZEBRA-PRIVILEGED-4471"
	ctx := context.Background()
	// Firm, user and token names, emails and content types carry it too.
	_, owner, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Firm " + marker, Region: "ca",
		Owner: vault.NewUser{Email: marker + "@owner.example", Name: "Owner " + marker}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Svc.CreateUser(ctx, owner, vault.NewUser{Email: "user." + marker + "@firm.example", Name: "User " + marker, Role: vault.RoleLawyer}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Svc.CreateAPIToken(ctx, owner, "Token "+marker, nil); err != nil {
		t.Fatal(err)
	}
	m, err := e.Svc.CreateMatter(ctx, owner, "Matter "+marker, "Client "+marker)
	if err != nil {
		t.Fatal(err)
	}
	small, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "Doc " + marker + ".pdf",
		ContentType: "application/x-" + marker}, strings.NewReader("Contents "+marker), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.RenameDocument(ctx, owner, small.ID, "Renamed "+marker+".pdf"); err != nil {
		t.Fatal(err)
	}

	// Watch the temp dir and the data dir while a large upload streams.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var spilled []string
	scans := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			hits := append(grepTree(t, tmp, []byte(marker)), grepTree(t, e.Dir, []byte(marker))...)
			mu.Lock()
			spilled = append(spilled, hits...)
			scans++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	big := &markerReader{line: []byte("Privileged and confidential: " + marker + "\n"), n: 96 << 20}
	d, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "Big " + marker + ".txt", ContentType: "text/plain"}, big, -1)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(spilled) > 0 {
		t.Fatalf("plaintext seen on disk during upload: %v", spilled)
	}
	if scans < 2 {
		t.Fatalf("only %d scans ran during the upload", scans)
	}
	if _, err := e.Svc.PutVersion(ctx, owner, d.ID, "", strings.NewReader("v2 "+marker), -1); err != nil {
		t.Fatal(err)
	}

	e.DB.Close() // flush the WAL into the main file too
	e2 := openEnv(t, e.Dir, nil)
	for _, m := range []string{marker, strings.ToLower(marker)} {
		if hits := grepTree(t, e.Dir, []byte(m)); len(hits) > 0 {
			t.Fatalf("marker found at rest in %v", hits)
		}
	}
	if hits := grepTree(t, tmp, []byte(marker)); len(hits) > 0 {
		t.Fatalf("marker found in the temp dir: %v", hits)
	}
	// And it all still reads back, through a fresh process's keys.
	got, err := e2.Svc.Document(ctx, owner, small.ID)
	if err != nil || got.Name != "Renamed "+marker+".pdf" {
		t.Fatalf("document after reopen = %v, %v", got, err)
	}
	mm, err := e2.Svc.Matter(ctx, owner, m.ID)
	if err != nil || mm.Name != "Matter "+marker || mm.Client != "Client "+marker {
		t.Fatalf("matter after reopen = %+v, %v", mm, err)
	}
}

func TestService_Residency(t *testing.T) {
	e := newEnv(t, nil)
	_, caOwner := e.firm(t, "Northern LLP", "ca")
	m := e.matter(t, caOwner, "M")
	d := e.put(t, caOwner, m.ID, "a.pdf", random(3, 2<<20))
	if _, err := e.Svc.PutVersion(context.Background(), caOwner, d.ID, "", bytes.NewReader(random(4, 1000)), 1000); err != nil {
		t.Fatal(err)
	}
	if got := storeObjects(t, e.Stores["ca"]); len(got) != 2 {
		t.Fatalf("ca store holds %v, want 2 blobs", got)
	}
	if got := storeObjects(t, e.Stores["us"]); len(got) != 0 {
		t.Fatalf("us store holds %v, want nothing from a ca firm", got)
	}
	// Not a byte of it lands under the us region's directory either.
	var files []string
	filepath.WalkDir(filepath.Join(e.Dir, "regions", "us"), func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) > 0 {
		t.Fatalf("files under the us region: %v", files)
	}

	t.Run("RegionMissing", func(t *testing.T) {
		// A server that does not serve the firm's region refuses to write
		// its data anywhere else.
		delete(e.Svc.Regions, "ca")
		defer func() { e.Svc.Regions["ca"] = e.Stores["ca"] }()
		_, err := e.Svc.PutDocument(context.Background(), caOwner, vault.NewDocument{MatterID: m.ID, Name: "b.pdf"}, strings.NewReader("x"), 1)
		wantCode(t, err, vault.EUNAVAILABLE)
		if got := storeObjects(t, e.Stores["us"]); len(got) != 0 {
			t.Fatalf("us store holds %v", got)
		}
	})
}

func TestService_RotateKeys(t *testing.T) {
	e := newEnv(t, nil)
	tenant, owner := e.firm(t, "Firm", "us")
	ctx := context.Background()
	m := e.matter(t, owner, "Before")
	before := random(5, 1<<20+3)
	d1 := e.put(t, owner, m.ID, "before.pdf", before)
	if err := e.Svc.RotateKeys(ctx, tenant.ID); err != nil {
		t.Fatal(err)
	}
	m2 := e.matter(t, owner, "After")
	after := random(6, 1<<20+4)
	d2 := e.put(t, owner, m2.ID, "after.pdf", after)

	// A fresh process (no key cache) reads both.
	e.DB.Close()
	e2 := openEnv(t, e.Dir, nil)
	for _, c := range []struct {
		id   string
		want []byte
	}{{d1.ID, before}, {d2.ID, after}} {
		got, err := e2.read(t, owner, c.id, 0, 0, -1)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Fatalf("document %s after rotation: %d bytes, %v", c.id, len(got), err)
		}
	}
	for _, id := range []string{m.ID, m2.ID} {
		if _, err := e2.Svc.Matter(ctx, owner, id); err != nil {
			t.Fatalf("matter %s after rotation: %v", id, err)
		}
	}
	v1, _ := e2.DB.Version(ctx, tenant.ID, d1.ID, 1)
	v2, _ := e2.DB.Version(ctx, tenant.ID, d2.ID, 1)
	if v1.KeyID == v2.KeyID {
		t.Fatalf("key id %d used before and after rotation, want a new primary", v1.KeyID)
	}
	if err := e2.Svc.RotateKeys(ctx, vault.NewID(vault.PrefixTenant)); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Fatalf("rotating an unknown firm = %v, want not_found", err)
	}
}

func TestService_KeysetsBoundToFirm(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a, ownerA := e.firm(t, "A", "us")
	b, ownerB := e.firm(t, "B", "us")
	e.matter(t, ownerA, "A's matter")
	mb := e.matter(t, ownerB, "B's matter")
	_, ksA, err := e.DB.TenantKeysets(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, ksB, err := e.DB.TenantKeysets(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Someone with the database file copies A's wrapped keysets over B's.
	if err := e.DB.ReplaceTenantKeysets(ctx, b.ID, ksB, ksA); err != nil {
		t.Fatal(err)
	}
	fresh, err := keys.NewManager(e.Masters, e.DB) // no cache
	if err != nil {
		t.Fatal(err)
	}
	_, err = fresh.OpenField(ctx, b.ID, vault.FieldRef{Table: "matters", Column: "name", RowID: mb.ID}, []byte("whatever"))
	wantCode(t, err, vault.ECANNOTDECRYPT)
	var buf bytes.Buffer
	_, err = fresh.EncryptDocument(ctx, vault.DocRef{TenantID: b.ID, DocumentID: vault.NewID(vault.PrefixDocument), Version: 1}, strings.NewReader("x"), &buf)
	wantCode(t, err, vault.ECANNOTDECRYPT)
}

func TestService_CleanupPending(t *testing.T) {
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	ctx := context.Background()
	// A crash between writing a blob and committing leaves both behind.
	key := tenant.ID + "/" + vault.NewID(vault.PrefixBlob)
	if err := e.DB.CreatePendingBlob(ctx, vault.PendingBlob{Key: key, TenantID: tenant.ID, Region: "us", CreatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stores["us"].Put(ctx, key, strings.NewReader("ciphertext"), 10); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Svc.CleanupPending(ctx); err != nil || n != 0 {
		t.Fatalf("CleanupPending before the grace period = %d, %v; want 0", n, err)
	}
	e.clock.Add(vault.DefaultPendingGrace + time.Minute)
	if n, err := e.Svc.CleanupPending(ctx); err != nil || n != 1 {
		t.Fatalf("CleanupPending = %d, %v; want 1", n, err)
	}
	if got := storeObjects(t, e.Stores["us"]); len(got) != 0 {
		t.Fatalf("store holds %v after cleanup", got)
	}
}
