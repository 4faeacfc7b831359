package vault_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

func TestService_PutDocument(t *testing.T) {
	e := newEnv(t, nil)
	_, owner := e.firm(t, "Smith & Wesson LLP", "us")
	m := e.matter(t, owner, "Estate of Doe")
	ctx := context.Background()

	for _, size := range []int{0, 1, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3<<20 + 17} {
		content := random(uint64(size), size)
		d := e.put(t, owner, m.ID, "contract.pdf", content)
		if d.CurrentVersion != 1 || d.Size != int64(size) {
			t.Fatalf("size %d: document = version %d size %d, want version 1 size %d", size, d.CurrentVersion, d.Size, size)
		}
		got, err := e.read(t, owner, d.ID, 0, 0, -1)
		if err != nil {
			t.Fatalf("size %d: read: %v", size, err)
		}
		if !bytes.Equal(got, content) {
			t.Fatalf("size %d: read back %d bytes that differ from the %d uploaded", size, len(got), len(content))
		}
	}

	t.Run("UnknownSize", func(t *testing.T) {
		content := random(7, 2<<20+5)
		d, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "stream.bin"}, io.MultiReader(bytes.NewReader(content)), -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.read(t, owner, d.ID, 1, 0, -1)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read = %d bytes, %v; want the %d uploaded", len(got), err, len(content))
		}
		if d.ContentType != "application/octet-stream" {
			t.Fatalf("content type = %q, want application/octet-stream", d.ContentType)
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		content := random(9, 5<<20+123)
		d := e.put(t, owner, m.ID, "ranges.bin", content)
		for _, r := range [][2]int64{{0, 1}, {1<<20 - 1, 2}, {1 << 20, 1 << 20}, {3<<20 + 5, 100}, {int64(len(content)) - 1, 1}, {int64(len(content)), 0}, {12345, 4 << 20}} {
			got, err := e.read(t, owner, d.ID, 0, r[0], r[1])
			if err != nil {
				t.Fatalf("range %v: %v", r, err)
			}
			if !bytes.Equal(got, content[r[0]:r[0]+r[1]]) {
				t.Fatalf("range %v: wrong bytes", r)
			}
		}
		_, err := e.read(t, owner, d.ID, 0, int64(len(content)), 1)
		wantCode(t, err, vault.EINVALID)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, nd := range []vault.NewDocument{
			{MatterID: m.ID, Name: ""},
			{MatterID: m.ID, Name: "a/b"},
			{MatterID: m.ID, Name: "bad\x00name"},
			{MatterID: m.ID, Name: strings.Repeat("x", 256)},
			{MatterID: m.ID, Name: "ok", ContentType: "not a type"},
		} {
			_, err := e.Svc.PutDocument(ctx, owner, nd, strings.NewReader("x"), 1)
			wantCode(t, err, vault.EINVALID)
		}
	})

	t.Run("ErrNotFound_Matter", func(t *testing.T) {
		_, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: vault.NewID(vault.PrefixMatter), Name: "x"}, strings.NewReader("x"), 1)
		wantCode(t, err, vault.ENOTFOUND)
	})
}

// storeObjects lists every object key in a blob store.
func storeObjects(t *testing.T, s vault.BlobStore) []string {
	t.Helper()
	var keys []string
	if err := s.List(context.Background(), "", func(bi vault.BlobInfo) error { keys = append(keys, bi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// failingReader yields n good bytes, then fails.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestService_PutDocument_FailureLeavesNothing(t *testing.T) {
	e := newEnv(t, nil)
	tenant, owner := e.firm(t, "Firm", "ca")
	m := e.matter(t, owner, "M")
	ctx := context.Background()
	errClientGone := errors.New("client went away")

	check := func(t *testing.T) {
		t.Helper()
		docs, err := e.Svc.Documents(ctx, owner, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 0 {
			t.Fatalf("documents = %d, want none after a failed upload", len(docs))
		}
		if keys := storeObjects(t, e.Stores[tenant.Region]); len(keys) != 0 {
			t.Fatalf("store holds %v after a failed upload, want nothing", keys)
		}
		pending, err := e.DB.PendingBlobs(ctx, e.clock.Now().Add(1e12))
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 0 {
			t.Fatalf("pending blobs = %v, want none", pending)
		}
	}

	t.Run("ReaderFails", func(t *testing.T) {
		_, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"},
			&failingReader{r: bytes.NewReader(random(1, 3<<20+7)), err: errClientGone}, -1)
		if !errors.Is(err, errClientGone) {
			t.Fatalf("PutDocument = %v, want the reader's error", err)
		}
		check(t)
	})
	t.Run("ShortBody", func(t *testing.T) {
		_, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"}, bytes.NewReader(random(1, 1000)), 2000)
		wantCode(t, err, vault.EINVALID)
		check(t)
	})
	t.Run("LongBody", func(t *testing.T) {
		_, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"}, bytes.NewReader(random(1, 3<<20)), 1<<20)
		wantCode(t, err, vault.EINVALID)
		check(t)
	})
	t.Run("TooLarge", func(t *testing.T) {
		e.Svc.MaxDocumentSize = 1 << 20
		defer func() { e.Svc.MaxDocumentSize = 0 }()
		_, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"}, bytes.NewReader(random(1, 2<<20)), -1)
		wantCode(t, err, vault.ETOOLARGE)
		check(t)
		_, err = e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"}, bytes.NewReader(random(1, 2<<20)), 2<<20)
		wantCode(t, err, vault.ETOOLARGE)
		check(t)
	})
	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		go func() {
			pw.Write(random(2, 2<<20))
			cancel()
			pw.CloseWithError(context.Canceled)
		}()
		_, err := e.Svc.PutDocument(cctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x.pdf"}, pr, -1)
		if err == nil {
			t.Fatal("PutDocument succeeded after cancel")
		}
		check(t)
	})
}

func TestService_Versions(t *testing.T) {
	e := newEnv(t, nil)
	_, owner := e.firm(t, "Firm", "us")
	m := e.matter(t, owner, "M")
	ctx := context.Background()
	v1, v2 := random(1, 300000), random(2, 1<<20+9)
	d := e.put(t, owner, m.ID, "brief.docx", v1)
	d2, err := e.Svc.PutVersion(ctx, owner, d.ID, "text/plain; charset=utf-8", bytes.NewReader(v2), int64(len(v2)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d2.CurrentVersion, 2; got != want {
		t.Fatalf("current version = %d, want %d", got, want)
	}
	if got, want := d2.Size, int64(len(v2)); got != want {
		t.Fatalf("size = %d, want %d", got, want)
	}
	for n, want := range map[int][]byte{0: v2, 1: v1, 2: v2} {
		got, err := e.read(t, owner, d.ID, n, 0, -1)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("version %d: %d bytes, %v; want %d bytes", n, len(got), err, len(want))
		}
	}
	_, err = e.read(t, owner, d.ID, 3, 0, -1)
	wantCode(t, err, vault.ENOTFOUND)
	vs, err := e.Svc.Versions(ctx, owner, d.ID)
	if err != nil || len(vs) != 2 || vs[0].Number != 1 || vs[1].Number != 2 {
		t.Fatalf("Versions = %v, %v; want versions 1 and 2", vs, err)
	}
}

func TestService_RenameMoveTrashRestore(t *testing.T) {
	e := newEnv(t, nil)
	_, owner := e.firm(t, "Firm", "us")
	m1, m2 := e.matter(t, owner, "One"), e.matter(t, owner, "Two")
	ctx := context.Background()
	d := e.put(t, owner, m1.ID, "draft.pdf", []byte("hello"))

	d, err := e.Svc.RenameDocument(ctx, owner, d.ID, "final.pdf")
	if err != nil || d.Name != "final.pdf" {
		t.Fatalf("Rename = %v, %v", d, err)
	}
	_, err = e.Svc.RenameDocument(ctx, owner, d.ID, "../etc/passwd")
	wantCode(t, err, vault.EINVALID)
	if d, err = e.Svc.MoveDocument(ctx, owner, d.ID, m2.ID); err != nil || d.MatterID != m2.ID {
		t.Fatalf("Move = %v, %v", d, err)
	}
	list, _ := e.Svc.Documents(ctx, owner, m2.ID, false)
	if len(list) != 1 || list[0].Name != "final.pdf" {
		t.Fatalf("matter two lists %v, want final.pdf", list)
	}
	if d, err = e.Svc.TrashDocument(ctx, owner, d.ID); err != nil || !d.Trashed {
		t.Fatalf("Trash = %v, %v", d, err)
	}
	list, _ = e.Svc.Documents(ctx, owner, m2.ID, false)
	if len(list) != 0 {
		t.Fatalf("listing shows %d trashed documents", len(list))
	}
	_, err = e.read(t, owner, d.ID, 0, 0, -1)
	wantCode(t, err, vault.ENOTFOUND)
	_, err = e.Svc.PutVersion(ctx, owner, d.ID, "", strings.NewReader("x"), 1)
	wantCode(t, err, vault.ECONFLICT)
	if d, err = e.Svc.RestoreDocument(ctx, owner, d.ID); err != nil || d.Trashed {
		t.Fatalf("Restore = %v, %v", d, err)
	}
	if got, err := e.read(t, owner, d.ID, 0, 0, -1); err != nil || string(got) != "hello" {
		t.Fatalf("after restore read %q, %v", got, err)
	}
}

func TestService_Access(t *testing.T) {
	e := newEnv(t, nil)
	tenant, owner := e.firm(t, "Firm A", "us")
	_, other := e.firm(t, "Firm B", "us")
	colleague := e.user(t, tenant.ID, vault.RoleLawyer)
	auditor := e.user(t, tenant.ID, vault.RoleAuditor)
	ctx := context.Background()
	m := e.matter(t, owner, "M")
	d := e.put(t, owner, m.ID, "secret.pdf", []byte("privileged"))

	t.Run("OtherFirmIsNotFound", func(t *testing.T) {
		_, err := e.Svc.Document(ctx, other, d.ID)
		wantCode(t, err, vault.ENOTFOUND)
		_, errMissing := e.Svc.Document(ctx, other, vault.NewID(vault.PrefixDocument))
		if vault.ErrorMessage(err) != vault.ErrorMessage(errMissing) {
			t.Fatalf("other firm's document says %q, a missing one %q: want the same", vault.ErrorMessage(err), vault.ErrorMessage(errMissing))
		}
		_, err = e.Svc.OpenVersion(ctx, other, d.ID, 0, vault.PermDownload)
		wantCode(t, err, vault.ENOTFOUND)
		_, err = e.Svc.Matter(ctx, other, m.ID)
		wantCode(t, err, vault.ENOTFOUND)
		_, err = e.Svc.PutDocument(ctx, other, vault.NewDocument{MatterID: m.ID, Name: "x"}, strings.NewReader("x"), 1)
		wantCode(t, err, vault.ENOTFOUND)
		_, err = e.Svc.TrashDocument(ctx, other, d.ID)
		wantCode(t, err, vault.ENOTFOUND)
		if list, _ := e.Svc.Documents(ctx, other, "", true); len(list) != 0 {
			t.Fatalf("other firm lists %d documents", len(list))
		}
	})
	t.Run("ColleagueDenied", func(t *testing.T) {
		_, err := e.Svc.OpenVersion(ctx, colleague, d.ID, 0, vault.PermRead)
		wantCode(t, err, vault.EFORBIDDEN)
		_, err = e.Svc.RenameDocument(ctx, colleague, d.ID, "mine.pdf")
		wantCode(t, err, vault.EFORBIDDEN)
		if list, _ := e.Svc.Documents(ctx, colleague, m.ID, false); len(list) != 0 {
			t.Fatalf("colleague lists %d documents, want 0", len(list))
		}
	})
	t.Run("AuditorNeverGetsContent", func(t *testing.T) {
		_, err := e.Svc.OpenVersion(ctx, auditor, d.ID, 0, vault.PermRead)
		wantCode(t, err, vault.EFORBIDDEN)
		_, err = e.Svc.PutDocument(ctx, auditor, vault.NewDocument{MatterID: m.ID, Name: "x"}, strings.NewReader("x"), 1)
		wantCode(t, err, vault.EFORBIDDEN)
	})
	t.Run("DisabledUser", func(t *testing.T) {
		disabled := *owner
		disabled.Disabled = true
		_, err := e.Svc.OpenVersion(ctx, &disabled, d.ID, 0, vault.PermRead)
		wantCode(t, err, vault.EFORBIDDEN)
	})
	t.Run("NoActor", func(t *testing.T) {
		_, err := e.Svc.Document(ctx, nil, d.ID)
		wantCode(t, err, vault.EUNAUTHORIZED)
	})
}

func TestService_CreateTenant(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, _, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "X", Region: "eu", Owner: vault.NewUser{Email: "a@b.example"}})
	wantCode(t, err, vault.EINVALID)
	if msg := vault.ErrorMessage(err); !strings.Contains(msg, "ca, us") {
		t.Fatalf("unknown region message %q does not name the configured regions", msg)
	}
	tenant, owner, password, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "X", Region: "ca", Owner: vault.NewUser{Email: " Owner@Firm.Example "}})
	if err != nil {
		t.Fatal(err)
	}
	if owner.Role != vault.RoleOwner || owner.Email != "owner@firm.example" || owner.TenantID != tenant.ID {
		t.Fatalf("owner = %+v", owner)
	}
	if !vault.CheckPassword(owner.PasswordHash, password) || vault.CheckPassword(owner.PasswordHash, password+"x") {
		t.Fatal("owner password hash does not match the one-time password")
	}
	// The same owner email in another firm is another account of its own.
	tenant2, owner2, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Y", Region: "us", Owner: vault.NewUser{Email: "OWNER@firm.example"}})
	if err != nil {
		t.Fatalf("CreateTenant with an owner email another firm uses: %v", err)
	}
	if owner2.TenantID != tenant2.ID || owner2.ID == owner.ID || owner2.Email != owner.Email {
		t.Fatalf("second owner = %+v", owner2)
	}
	if ts, _ := e.Svc.Tenants(ctx); len(ts) != 2 {
		t.Fatalf("tenants = %d, want 2", len(ts))
	}
}
