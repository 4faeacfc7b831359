package keys_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// Range reads read ahead only while the manager's read-ahead memory lasts,
// give it back when closed, and decrypt and fail closed the same either way.
func TestManager_ReadAhead(t *testing.T) {
	const part = 4 << 10
	// Enough for one reader's read-ahead (about 9 parts beyond its two),
	// not for two.
	f := newFixture(t, keys.WithPartSize(part), keys.WithReadAheadMemory(12*part))
	ref := newRef(f.newTenant(t, "us"))
	plain := randBytes(7, 40*part+123)
	blob, s := mustEncrypt(t, f.m, ref, plain)
	ctx := context.Background()
	open := func(off, n int64) io.ReadCloser {
		t.Helper()
		fe := &fetcher{blob: blob}
		rc, err := f.m.DecryptRange(ctx, ref, s, off, n, fe.fetch)
		if err != nil {
			t.Fatalf("DecryptRange(%d, %d): %v", off, n, err)
		}
		return rc
	}
	readAll := func(rc io.ReadCloser, want []byte) {
		t.Helper()
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, %v; want the %d bytes written", len(got), err, len(want))
		}
	}
	size := int64(len(plain))

	a := open(0, size)
	if !keys.ReadsAhead(a) {
		t.Fatal("the first reader does not read ahead")
	}
	b := open(part/2, size-part) // the budget is taken: one part at a time
	if keys.ReadsAhead(b) {
		t.Fatal("a second reader reads ahead beyond the read-ahead memory")
	}
	one := open(3*part+5, 100) // one part never needs read-ahead
	if keys.ReadsAhead(one) {
		t.Fatal("a one-part range holds read-ahead memory")
	}
	readAll(one, plain[3*part+5:3*part+105])
	readAll(b, plain[part/2:part/2+size-part])
	readAll(a, plain)
	for _, rc := range []io.ReadCloser{a, b, one} {
		rc.Close()
	}
	c := open(0, size)
	if !keys.ReadsAhead(c) {
		t.Fatal("closed readers did not give their read-ahead memory back")
	}
	// Closing a reader that read nothing, or half, gives it back too.
	c.Close()
	d := open(0, size)
	if _, err := io.CopyN(io.Discard, d, 5*part); err != nil {
		t.Fatal(err)
	}
	d.Close()
	e := open(0, size)
	if !keys.ReadsAhead(e) {
		t.Fatal("a reader closed half-way kept its read-ahead memory")
	}
	e.Close()

	// Without read-ahead at all: the same bytes, the same failure on a
	// damaged part, after the authentic parts before it.
	none := mustManager(t, f.masters, f.store, keys.WithPartSize(part), keys.WithReadAheadMemory(0))
	got, err := decrypt(none, ref, s, blob, 0, size)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("without read-ahead: %d bytes, %v", len(got), err)
	}
	damaged := bytes.Clone(blob)
	damaged[len(damaged)/2] ^= 1
	for _, m := range []*keys.Manager{f.m, none} {
		got, err := decrypt(m, ref, s, damaged, 0, size)
		assertCode(t, err, vault.ECANNOTDECRYPT)
		if len(got) >= len(plain)/2 || !bytes.Equal(got, plain[:len(got)]) {
			t.Fatalf("a damaged part released %d bytes; want only authentic bytes before it", len(got))
		}
	}

	if _, err := keys.NewManager(f.masters, f.store, keys.WithReadAheadMemory(-1)); vault.ErrorCode(err) != vault.EINVALID {
		t.Fatalf("NewManager with negative read-ahead memory = %v, want invalid", err)
	}
}
