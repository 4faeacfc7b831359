package keys

import (
	"context"
	"errors"
	"io"
	"math"

	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/casevault/casevault/vault"
)

// layout is where each part of a blob lies, derived only from the trusted
// Sealed metadata, never from the blob.
type layout struct {
	size  int64 // plaintext bytes
	p, c  int64 // plaintext and ciphertext bytes of a full part
	parts int64 // number of parts, at least one
	ctEnd int64 // ciphertext size of the blob
}

// layoutOf checks that s describes a possible blob. A Sealed that cannot be
// right is as good as tampered ciphertext: cannot_decrypt.
func layoutOf(s vault.Sealed) (layout, error) {
	bad := func(why string) (layout, error) {
		return layout{}, vault.Errorf(vault.ECANNOTDECRYPT, "Document cannot be decrypted: %s.", why)
	}
	l := layout{size: s.Size, p: int64(s.PartSize), c: int64(s.PartCipherSize), ctEnd: s.CiphertextSize}
	switch {
	case l.size < 0:
		return bad("negative size")
	case l.p < 1 || l.p > MaxPartSize:
		return bad("part size out of range")
	case l.c <= l.p || l.c > 2*MaxPartSize:
		return bad("part ciphertext size out of range")
	}
	l.parts = 1
	if l.size > 0 {
		l.parts = (l.size-1)/l.p + 1
	}
	if l.parts > (math.MaxInt64-headerSize)/l.c {
		return bad("too many parts")
	}
	// The last part holds at least Tink's header and tag and at most as
	// much as a full part.
	if last := l.cipherOff(l.parts - 1); l.ctEnd <= last || l.ctEnd > last+l.c {
		return bad("ciphertext size does not match plaintext size")
	}
	return l, nil
}

// cipherOff is the offset of part i in the blob.
func (l layout) cipherOff(i int64) int64 { return headerSize + i*l.c }

// cipherLen is the ciphertext size of part i.
func (l layout) cipherLen(i int64) int64 {
	if i == l.parts-1 {
		return l.ctEnd - l.cipherOff(i)
	}
	return l.c
}

// plainLen is the plaintext size of part i.
func (l layout) plainLen(i int64) int64 {
	if i == l.parts-1 {
		return l.size - i*l.p
	}
	return l.p
}

// DecryptRange returns a reader of plaintext bytes [offset, offset+length)
// of the blob described by s. It fetches the 16-byte header and the
// ciphertext of the parts the range overlaps, no other, and checks the header
// against s. Each part is decrypted whole and its plaintext released only
// once it has authenticated. The first part is decrypted before
// DecryptRange returns, so a damaged start fails here, before any byte is
// served; damage further on fails Read with cannot_decrypt after the
// authentic parts before it. A zero-length range still authenticates the
// part at offset.
// Errors: invalid (bad ref, range out of bounds), not_found (tenant, or
// blob as the fetcher reports it), cannot_decrypt, unavailable, internal.
func (m *Manager) DecryptRange(ctx context.Context, ref vault.DocRef, s vault.Sealed, offset, length int64, fetch vault.RangeFetcher) (io.ReadCloser, error) {
	if err := validRef(ref); err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 || offset > s.Size || length > s.Size-offset {
		return nil, vault.Errorf(vault.EINVALID, "Range %d+%d is outside the document's %d bytes.", offset, length, s.Size)
	}
	l, err := layoutOf(s)
	if err != nil {
		return nil, err
	}
	tk, err := m.tenant(ctx, ref.TenantID)
	if err != nil {
		return nil, err
	}
	if !tk.docKeys[s.KeyID] {
		// Possibly written by another process after a rotation this one
		// has not seen. KeyID is a hint only: Tink tries every key anyway.
		if tk, _, err = m.refresh(ctx, ref.TenantID, tk); err != nil {
			return nil, err
		}
	}

	first := min(offset/l.p, l.parts-1)
	last := first
	if length > 0 {
		last = (offset + length - 1) / l.p
	}
	start, end := l.cipherOff(first), l.cipherOff(last)+l.cipherLen(last)

	r := &rangeReader{
		ctx: ctx, sa: tk.doc, ref: ref, l: l,
		next: first, last: last,
		skip: offset - first*l.p, remaining: length,
		buf: make([]byte, l.p+1),
	}
	hdr := make([]byte, headerSize)
	if first == 0 {
		// The header and the parts are contiguous: one fetch.
		if err := r.open(fetch, 0, end); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r.src, hdr); err != nil {
			r.Close()
			return nil, r.fetchErr(err)
		}
	} else {
		if err := r.open(fetch, 0, headerSize); err != nil {
			return nil, err
		}
		_, err := io.ReadFull(r.src, hdr)
		r.Close()
		if err != nil {
			return nil, r.fetchErr(err)
		}
		if err := r.open(fetch, start, end-start); err != nil {
			return nil, err
		}
	}
	if !checkHeader(hdr, s) {
		r.Close()
		return nil, vault.Errorf(vault.ECANNOTDECRYPT, "Document cannot be decrypted: header does not match.")
	}
	if err := r.openNext(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// rangeReader serves plaintext part by part from one fetched stream.
type rangeReader struct {
	ctx  context.Context
	sa   tink.StreamingAEAD
	ref  vault.DocRef
	l    layout
	body io.ReadCloser
	src  *errReader

	next, last int64  // parts still to decrypt
	skip       int64  // bytes of the first part before the range
	remaining  int64  // bytes of the range not yet returned by Read
	buf        []byte // one part's plaintext plus one byte to detect excess
	pending    []byte // authenticated plaintext not yet returned
	err        error  // sticky
}

// open fetches ciphertext bytes [off, off+n) as r's source.
func (r *rangeReader) open(fetch vault.RangeFetcher, off, n int64) error {
	body, err := fetch(r.ctx, off, n)
	if err != nil {
		return r.fetchErr(err)
	}
	r.body, r.src = body, &errReader{r: body}
	return nil
}

// fetchErr translates a failure to obtain ciphertext. Running out of bytes
// the metadata promised means truncation: cannot_decrypt. So does a store
// saying the offset is beyond the end of the object.
func (r *rangeReader) fetchErr(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), vault.IsCode(err, vault.EINVALID):
		return vault.WrapError(vault.ECANNOTDECRYPT, err, "Document cannot be decrypted: ciphertext is truncated.")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var verr *vault.Error
	if errors.As(err, &verr) {
		return err
	}
	return vault.WrapError(vault.EUNAVAILABLE, err, "Document ciphertext cannot be read.")
}

// Read returns authenticated plaintext of the range.
func (r *rangeReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.remaining == 0 {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		if err := r.openNext(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	r.remaining -= int64(n)
	return n, nil
}

// Close releases the fetched stream.
func (r *rangeReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// openNext decrypts the next part completely into buf and only then makes
// the part of it inside the range pending.
func (r *rangeReader) openNext() (err error) {
	defer func() {
		if err != nil {
			r.err = err
			r.pending = nil
		}
	}()
	if r.next > r.last {
		return vault.Errorf(vault.EINTERNAL, "Range reader ran past its last part.")
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	i := r.next
	want := r.l.plainLen(i)
	lr := &io.LimitedReader{R: r.src, N: r.l.cipherLen(i)}
	ad := partAD(r.ref.TenantID, r.ref.DocumentID, r.ref.Version, uint64(i), i == r.l.parts-1)
	dec, err := r.sa.NewDecryptingReader(lr, ad)
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot decrypt document.")
	}

	buf := r.buf[:want+1]
	var got int64
	for {
		if got == int64(len(buf)) {
			return r.authErr(i, errors.New("part longer than its size"))
		}
		n, err := dec.Read(buf[got:])
		got += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return r.authErr(i, err)
		}
	}
	switch {
	case r.src.err != nil:
		return r.fetchErr(r.src.err)
	case got != want:
		return r.authErr(i, errors.New("part shorter than its size"))
	case lr.N != 0:
		return r.authErr(i, errors.New("part ciphertext is short"))
	}

	pt := buf[:got]
	if r.skip > 0 { // only the first part of the range
		pt, r.skip = pt[r.skip:], 0
	}
	r.pending = pt[:min(int64(len(pt)), r.remaining)]
	r.next++
	return nil
}

// authErr reports that part i failed to authenticate, unless the real cause
// was the source failing.
func (r *rangeReader) authErr(i int64, err error) error {
	if r.src.err != nil {
		return r.fetchErr(r.src.err)
	}
	return vault.WrapError(vault.ECANNOTDECRYPT, err, "Document cannot be decrypted: part %d failed authentication.", i)
}

// errReader remembers the first error of r other than EOF, so a failing
// store is not mistaken for tampered ciphertext.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}
