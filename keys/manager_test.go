package keys_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestNewManager(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name    string
		masters map[string]keys.MasterKey
		store   vault.KeysetStore
		opts    []keys.Option
	}{
		{"NoMasters", nil, f.store, nil},
		{"NilMaster", map[string]keys.MasterKey{"us": nil}, f.store, nil},
		{"NilStore", f.masters, nil, nil},
		{"ZeroPartSize", f.masters, f.store, []keys.Option{keys.WithPartSize(0)}},
		{"HugePartSize", f.masters, f.store, []keys.Option{keys.WithPartSize(keys.MaxPartSize + 1)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keys.NewManager(tt.masters, tt.store, tt.opts...)
			assertCode(t, err, vault.EINVALID)
		})
	}
}

func TestManager_NewTenantKeysets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	t.Run("ErrUnknownRegion", func(t *testing.T) {
		_, err := f.m.NewTenantKeysets(ctx, vault.NewID(vault.PrefixTenant), "eu")
		assertCode(t, err, vault.EINVALID)
		if got, want := vault.ErrorMessage(err), "configured regions: ca, us"; !strings.Contains(got, want) {
			t.Errorf("message = %q, want it to contain %q", got, want)
		}
	})
	t.Run("ErrEmptyTenant", func(t *testing.T) {
		_, err := f.m.NewTenantKeysets(ctx, "", "us")
		assertCode(t, err, vault.EINVALID)
	})
	t.Run("Fresh", func(t *testing.T) {
		id := vault.NewID(vault.PrefixTenant)
		a, err := f.m.NewTenantKeysets(ctx, id, "us")
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.m.NewTenantKeysets(ctx, id, "us")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Document) == 0 || len(a.Field) == 0 {
			t.Fatalf("empty keysets: %d, %d bytes", len(a.Document), len(a.Field))
		}
		if bytes.Equal(a.Document, b.Document) || bytes.Equal(a.Field, b.Field) {
			t.Fatalf("two calls returned the same keysets")
		}
	})
}

// A wrapped keyset is bound to its firm, region, purpose and master key.
func TestManager_WrappedKeysetsAreBound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.newTenant(t, "us")
	aks := f.store.get(a).ks
	ref := vault.FieldRef{Table: "matters", Column: "name", RowID: "mat_1"}

	for _, tt := range []struct {
		name   string
		region string
		ks     vault.TenantKeysets
	}{
		{"AsOtherFirm", "us", aks},
		{"UnderOtherRegion", "ca", aks},
		{"PurposesSwapped", "us", vault.TenantKeysets{Document: aks.Field, Field: aks.Document}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := vault.NewID(vault.PrefixTenant)
			f.store.put(b, tt.region, tt.ks)
			_, err := f.m.SealField(ctx, b, ref, "x")
			assertCode(t, err, vault.ECANNOTDECRYPT)
			_, err = f.m.EncryptDocument(ctx, newRef(b), strings.NewReader("x"), &bytes.Buffer{})
			assertCode(t, err, vault.ECANNOTDECRYPT)
		})
	}
	t.Run("UnderOtherMasterKey", func(t *testing.T) {
		// Same region name, same store, a different "us" master key.
		other := newFixture(t)
		m := mustManager(t, map[string]keys.MasterKey{"us": other.masters["us"]}, f.store)
		_, err := m.SealField(ctx, a, ref, "x")
		assertCode(t, err, vault.ECANNOTDECRYPT)
	})
	t.Run("ErrUnknownTenant", func(t *testing.T) {
		_, err := f.m.SealField(ctx, "ten_nobody", ref, "x")
		assertCode(t, err, vault.ENOTFOUND)
		_, err = f.m.SealField(ctx, "", ref, "x")
		assertCode(t, err, vault.ENOTFOUND)
	})
}

func TestManager_Field(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.newTenant(t, "us"), f.newTenant(t, "us")
	ref := vault.FieldRef{Table: "documents", Column: "name", RowID: "doc_1"}

	for _, plain := range []string{"", "Smith v. Jones — settlement draft.pdf", strings.Repeat("x", 10000)} {
		ct, err := f.m.SealField(ctx, a, ref, plain)
		if err != nil {
			t.Fatal(err)
		}
		if plain != "" && bytes.Contains(ct, []byte(plain)) {
			t.Fatalf("ciphertext contains plaintext")
		}
		got, err := f.m.OpenField(ctx, a, ref, ct)
		if err != nil {
			t.Fatal(err)
		}
		if got != plain {
			t.Fatalf("OpenField = %q, want %q", got, plain)
		}
	}

	ct, err := f.m.SealField(ctx, a, ref, "Acme Corp")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tenant string
		ref    vault.FieldRef
		ct     []byte
	}{
		{"OtherFirm", b, ref, ct},
		{"OtherTable", a, vault.FieldRef{Table: "matters", Column: ref.Column, RowID: ref.RowID}, ct},
		{"OtherColumn", a, vault.FieldRef{Table: ref.Table, Column: "client", RowID: ref.RowID}, ct},
		{"OtherRow", a, vault.FieldRef{Table: ref.Table, Column: ref.Column, RowID: "doc_2"}, ct},
		// Length prefixes keep "documents"+"name" apart from "document"+"sname".
		{"ShiftedBoundary", a, vault.FieldRef{Table: "document", Column: "sname", RowID: ref.RowID}, ct},
		{"Flipped", a, ref, flip(ct, len(ct)-1)},
		{"Truncated", a, ref, ct[:len(ct)-1]},
		{"Empty", a, ref, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.m.OpenField(ctx, tt.tenant, tt.ref, tt.ct)
			assertCode(t, err, vault.ECANNOTDECRYPT)
		})
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

func TestManager_RotateTenantKeys(t *testing.T) {
	f := newFixture(t, keys.WithPartSize(512))
	ctx := context.Background()
	tenant := f.newTenant(t, "ca")
	fref := vault.FieldRef{Table: "matters", Column: "client", RowID: "mat_1"}

	type sealed struct {
		ref   vault.DocRef
		plain []byte
		blob  []byte
		s     vault.Sealed
		field []byte
	}
	seal := func(t *testing.T, seed uint64) sealed {
		t.Helper()
		x := sealed{ref: newRef(tenant), plain: randBytes(seed, 2000)}
		x.blob, x.s = mustEncrypt(t, f.m, x.ref, x.plain)
		var err error
		if x.field, err = f.m.SealField(ctx, tenant, fref, string(x.plain[:40])); err != nil {
			t.Fatal(err)
		}
		return x
	}
	check := func(t *testing.T, x sealed) {
		t.Helper()
		got, err := decrypt(f.m, x.ref, x.s, x.blob, 0, x.s.Size)
		if err != nil {
			t.Fatalf("DecryptRange: %v", err)
		}
		if !bytes.Equal(got, x.plain) {
			t.Fatalf("DecryptRange returned the wrong bytes")
		}
		field, err := f.m.OpenField(ctx, tenant, fref, x.field)
		if err != nil {
			t.Fatalf("OpenField: %v", err)
		}
		if field != string(x.plain[:40]) {
			t.Fatalf("OpenField returned the wrong value")
		}
	}

	before := seal(t, 1)
	if err := f.m.RotateTenantKeys(ctx, tenant); err != nil {
		t.Fatalf("RotateTenantKeys: %v", err)
	}
	after := seal(t, 2)
	if err := f.m.RotateTenantKeys(ctx, tenant); err != nil {
		t.Fatalf("RotateTenantKeys: %v", err)
	}
	last := seal(t, 3)

	if before.s.KeyID == after.s.KeyID || after.s.KeyID == last.s.KeyID || before.s.KeyID == last.s.KeyID {
		t.Errorf("KeyIDs = %d, %d, %d, want all different", before.s.KeyID, after.s.KeyID, last.s.KeyID)
	}
	if before.field[0] != after.field[0] || bytes.Equal(before.field[1:5], after.field[1:5]) {
		// Tink's prefix: version byte then the key id.
		t.Errorf("field key prefix did not change on rotation")
	}
	for _, x := range []sealed{before, after, last} {
		check(t, x)
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		assertCode(t, f.m.RotateTenantKeys(ctx, "ten_nobody"), vault.ENOTFOUND)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		other := mustManager(t, f.masters, f.store)
		f.store.beforeReplace = func() {
			if err := other.RotateTenantKeys(ctx, tenant); err != nil {
				t.Errorf("concurrent RotateTenantKeys: %v", err)
			}
		}
		assertCode(t, f.m.RotateTenantKeys(ctx, tenant), vault.ECONFLICT)
		for _, x := range []sealed{before, after, last, seal(t, 4)} {
			check(t, x)
		}
	})
}

// A Manager that cached a firm's keys still reads data written under a key
// another Manager (another process) added since.
func TestManager_RotationSeenByOtherManager(t *testing.T) {
	f := newFixture(t, keys.WithPartSize(512))
	ctx := context.Background()
	tenant := f.newTenant(t, "us")
	fref := vault.FieldRef{Table: "matters", Column: "name", RowID: "mat_1"}
	reader := mustManager(t, f.masters, f.store, keys.WithPartSize(512))
	if _, err := reader.SealField(ctx, tenant, fref, "warm the cache"); err != nil {
		t.Fatal(err)
	}

	if err := f.m.RotateTenantKeys(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	ref := newRef(tenant)
	plain := randBytes(9, 1500)
	blob, s := mustEncrypt(t, f.m, ref, plain)
	ct, err := f.m.SealField(ctx, tenant, fref, "Globex")
	if err != nil {
		t.Fatal(err)
	}

	if got, err := reader.OpenField(ctx, tenant, fref, ct); err != nil || got != "Globex" {
		t.Fatalf("OpenField = %q, %v, want %q", got, err, "Globex")
	}
	got, err := decrypt(reader, ref, s, blob, 0, s.Size)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("DecryptRange = %d bytes, %v, want %d equal bytes", len(got), err, len(plain))
	}
}

// Concurrent use while keys rotate; run with -race.
func TestManager_Concurrent(t *testing.T) {
	f := newFixture(t, keys.WithPartSize(256))
	ctx := context.Background()
	tenant := f.newTenant(t, "us")
	fref := vault.FieldRef{Table: "matters", Column: "name", RowID: "mat_1"}

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				plain := randBytes(uint64(g*100+i), 1000)
				ref := newRef(tenant)
				var blob bytes.Buffer
				s, err := f.m.EncryptDocument(ctx, ref, bytes.NewReader(plain), &blob)
				if err != nil {
					t.Errorf("EncryptDocument: %v", err)
					return
				}
				if got, err := decrypt(f.m, ref, s, blob.Bytes(), 0, s.Size); err != nil || !bytes.Equal(got, plain) {
					t.Errorf("DecryptRange: %v", err)
					return
				}
				ct, err := f.m.SealField(ctx, tenant, fref, "v")
				if err != nil {
					t.Errorf("SealField: %v", err)
					return
				}
				if _, err := f.m.OpenField(ctx, tenant, fref, ct); err != nil {
					t.Errorf("OpenField: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			// Conflicts with nobody here: only this goroutine rotates.
			if err := f.m.RotateTenantKeys(ctx, tenant); err != nil {
				t.Errorf("RotateTenantKeys: %v", err)
			}
		}
	})
	wg.Wait()
}

// Firms whose document keys were made with 1 MB segments (before 4 KB
// segments became the template) keep reading their documents, also after
// a rotation adds a 4 KB-segment key.
func TestManager_OldSegmentKeys(t *testing.T) {
	f := newFixture(t)
	restore := keys.UseOneMBSegments(t)
	tenant := f.newTenant(t, "us")
	old := newRef(tenant)
	oldPlain := randBytes(7, 2<<20+12345)
	oldBlob, oldSealed := mustEncrypt(t, f.m, old, oldPlain)
	if oldSealed.PartCipherSize != 1_048_648 {
		t.Fatalf("1 MB-segment part ciphertext = %d bytes, want 1,048,648", oldSealed.PartCipherSize)
	}

	// A later version: the template is back to 4 KB segments; the firm
	// rotates, and new documents use the new key.
	restore()
	f2 := mustManager(t, f.masters, f.store)
	ctx := context.Background()
	if err := f2.RotateTenantKeys(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	newRef := newRef(tenant)
	newPlain := randBytes(8, 2<<20+54321)
	newBlob, newSealed := mustEncrypt(t, f2, newRef, newPlain)
	if newSealed.PartCipherSize != 1_052_744 || newSealed.KeyID == oldSealed.KeyID {
		t.Fatalf("4 KB-segment part ciphertext = %d bytes, key %d (old %d)", newSealed.PartCipherSize, newSealed.KeyID, oldSealed.KeyID)
	}
	for _, c := range []struct {
		ref   vault.DocRef
		s     vault.Sealed
		blob  []byte
		plain []byte
	}{{old, oldSealed, oldBlob, oldPlain}, {newRef, newSealed, newBlob, newPlain}} {
		for _, r := range [][2]int64{{0, c.s.Size}, {1<<20 - 10, 20}, {c.s.Size - 5, 5}} {
			got, err := decrypt(f2, c.ref, c.s, c.blob, r[0], r[1])
			if err != nil || !bytes.Equal(got, c.plain[r[0]:r[0]+r[1]]) {
				t.Fatalf("range %v of a document with key %d: %v", r, c.s.KeyID, err)
			}
		}
	}
}

// A range reader closed early (a client that went away) gives its buffers
// back for reuse, and reading it afterwards fails instead of hanging or
// returning recycled bytes.
func TestManager_DecryptRangeClosedEarly(t *testing.T) {
	f := newFixture(t, keys.WithPartSize(4096))
	tenant := f.newTenant(t, "us")
	ref := newRef(tenant)
	plain := randBytes(9, 40_000)
	blob, s := mustEncrypt(t, f.m, ref, plain)
	fetch := func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob[off : off+n])), nil
	}
	for range 20 {
		r, err := f.m.DecryptRange(context.Background(), ref, s, 0, s.Size, fetch)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, plain[:100]) {
			t.Fatalf("first bytes: %v", err)
		}
		r.Close()
		if n, err := r.Read(buf); err == nil || n != 0 {
			t.Fatalf("Read after Close = %d, %v", n, err)
		}
	}
	// Later reads, drawing on the recycled buffers, are still exact.
	got, err := decrypt(f.m, ref, s, blob, 1234, 30_000)
	if err != nil || !bytes.Equal(got, plain[1234:31234]) {
		t.Fatalf("read after recycling: %v", err)
	}
}

// TestManager_NewTenantKeysetsInContext checks that a firm's creation can be
// sealed before the firm is stored, with the keysets the context carries,
// and that they stand in only while the store has none for that firm.
func TestManager_NewTenantKeysetsInContext(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ref := vault.FieldRef{Table: "audit_events", Column: "private", RowID: "evt_1"}
	id := vault.NewID(vault.PrefixTenant)
	ks, err := f.m.NewTenantKeysets(ctx, id, "us")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.m.SealField(ctx, id, ref, "owner@firm.example")
	assertCode(t, err, vault.ENOTFOUND)
	pctx := vault.WithNewTenantKeysets(ctx, id, "us", ks)
	ct, err := f.m.SealField(pctx, id, ref, "owner@firm.example")
	if err != nil {
		t.Fatal(err)
	}
	// Not cached: without the context the firm is still unknown.
	_, err = f.m.OpenField(ctx, id, ref, ct)
	assertCode(t, err, vault.ENOTFOUND)
	// Another firm's id does not pick them up.
	_, err = f.m.SealField(pctx, vault.NewID(vault.PrefixTenant), ref, "x")
	assertCode(t, err, vault.ENOTFOUND)
	// Once stored, the firm's own keysets open what was sealed.
	f.store.put(id, "us", ks)
	if got, err := f.m.OpenField(ctx, id, ref, ct); err != nil || got != "owner@firm.example" {
		t.Fatalf("OpenField = %q, %v", got, err)
	}
	// A stored firm ignores keysets in the context: other keysets do not
	// replace its own.
	other, err := f.m.NewTenantKeysets(ctx, id, "us")
	if err != nil {
		t.Fatal(err)
	}
	f.m.Forget(id)
	if got, err := f.m.OpenField(vault.WithNewTenantKeysets(ctx, id, "us", other), id, ref, ct); err != nil || got != "owner@firm.example" {
		t.Fatalf("OpenField with other keysets in the context = %q, %v", got, err)
	}
}
