package keys_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/casevault/casevault/vault"
)

// alternate is a second copy of a blob, as a mirror serves it: its fetches
// and its Served calls are counted.
type alternate struct {
	blob           []byte
	fetches, serve atomic.Int64
}

func (a *alternate) ctx() context.Context {
	return vault.WithAlternateFetch(context.Background(), vault.AlternateFetch{
		Fetch: func(_ context.Context, off, n int64) (io.ReadCloser, error) {
			a.fetches.Add(1)
			end := min(off+n, int64(len(a.blob)))
			return io.NopCloser(bytes.NewReader(a.blob[off:end])), nil
		},
		Served: func() { a.serve.Add(1) },
	})
}

func flipped(blob []byte, offs ...int64) []byte {
	b := bytes.Clone(blob)
	for _, off := range offs {
		b[off] ^= 1
	}
	return b
}

// TestManager_DecryptRange_Alternate: a part (or the header) that fails
// authentication from the first copy is read from the second and served
// when it authenticates there, and Served is called once per read; a part
// bad on both copies is the damaged-part error, as without a second copy.
func TestManager_DecryptRange_Alternate(t *testing.T) {
	tf := newTamperFixture(t)
	read := func(t *testing.T, first []byte, alt *alternate) ([]byte, error) {
		t.Helper()
		f := &fetcher{blob: first}
		rc, err := tf.m.DecryptRange(alt.ctx(), tf.ref, tf.s, 0, tf.s.Size, f.fetch)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	partOff := func(i int64) int64 { return headerSize + i*tf.c + 7 }

	t.Run("BadPartsServedFromSecondCopy", func(t *testing.T) {
		alt := &alternate{blob: tf.blob}
		got, err := read(t, flipped(tf.blob, partOff(0), partOff(3), partOff(5)), alt)
		if err != nil || !bytes.Equal(got, tf.plain) {
			t.Fatalf("got %d bytes, %v; want the document", len(got), err)
		}
		if got, want := alt.fetches.Load(), int64(3); got != want {
			t.Errorf("fetches from the second copy: got %d, want %d", got, want)
		}
		if got, want := alt.serve.Load(), int64(1); got != want {
			t.Errorf("Served calls: got %d, want %d", got, want)
		}
	})
	t.Run("BadHeader", func(t *testing.T) {
		alt := &alternate{blob: tf.blob}
		got, err := read(t, flipped(tf.blob, 2), alt)
		if err != nil || !bytes.Equal(got, tf.plain) {
			t.Fatalf("got %d bytes, %v; want the document", len(got), err)
		}
		if alt.serve.Load() != 1 {
			t.Errorf("Served calls: got %d, want 1", alt.serve.Load())
		}
	})
	t.Run("GoodCopyNotAsked", func(t *testing.T) {
		alt := &alternate{blob: tf.blob}
		if _, err := read(t, tf.blob, alt); err != nil {
			t.Fatal(err)
		}
		if alt.fetches.Load() != 0 || alt.serve.Load() != 0 {
			t.Errorf("second copy asked %d times for an authentic blob", alt.fetches.Load())
		}
	})
	t.Run("TruncatedServedFromSecondCopy", func(t *testing.T) {
		alt := &alternate{blob: tf.blob}
		got, err := read(t, tf.blob[:partOff(3)], alt)
		if err != nil || !bytes.Equal(got, tf.plain) {
			t.Fatalf("got %d bytes, %v; want the document", len(got), err)
		}
		if got, want := alt.fetches.Load(), int64(1); got != want {
			t.Errorf("fetches from the second copy: got %d, want %d (the rest of the range, once)", got, want)
		}
		if got, want := alt.serve.Load(), int64(1); got != want {
			t.Errorf("Served calls: got %d, want %d", got, want)
		}
	})
	t.Run("TruncatedRange", func(t *testing.T) {
		alt := &alternate{blob: tf.blob}
		f := &fetcher{blob: tf.blob[:partOff(4)]}
		rc, err := tf.m.DecryptRange(alt.ctx(), tf.ref, tf.s, 2*tf.p+5, 3*tf.p, f.fetch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if want := tf.plain[2*tf.p+5 : 5*tf.p+5]; err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes, %v; want the %d bytes of the range", len(got), err, len(want))
		}
	})
	t.Run("TruncatedOnBoth", func(t *testing.T) {
		alt := &alternate{blob: tf.blob[:partOff(3)+2]}
		got, err := read(t, tf.blob[:partOff(3)], alt)
		assertCode(t, err, vault.ECANNOTDECRYPT)
		if int64(len(got)) != 3*tf.p || !bytes.HasPrefix(tf.plain, got) {
			t.Errorf("released %d bytes before failing, want the %d authentic ones", len(got), 3*tf.p)
		}
		if alt.serve.Load() != 0 {
			t.Error("Served called for a blob truncated on both copies")
		}
	})
	t.Run("BadOnBoth", func(t *testing.T) {
		alt := &alternate{blob: flipped(tf.blob, partOff(2))}
		got, err := read(t, flipped(tf.blob, partOff(2)+1), alt)
		assertCode(t, err, vault.ECANNOTDECRYPT)
		if int64(len(got)) != 2*tf.p || !bytes.HasPrefix(tf.plain, got) {
			t.Errorf("released %d bytes before failing, want the %d authentic ones", len(got), 2*tf.p)
		}
		if alt.serve.Load() != 0 {
			t.Error("Served called for a part bad on both copies")
		}
	})
}
