package keys

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"

	"github.com/casevault/casevault/vault"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// Blob header (docs/FORMAT.md): magic, format version, three zero bytes, the
// plaintext part size and the ciphertext size of a full part, both uint32
// big-endian.
const (
	headerSize    = 16
	formatVersion = 1
	blobMagic     = "CVDB"
)

// header is the fixed-size prefix of every document blob.
type header struct {
	partSize       uint32
	partCipherSize uint32
}

func (h header) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, blobMagic)
	b[4] = formatVersion
	binary.BigEndian.PutUint32(b[8:], h.partSize)
	binary.BigEndian.PutUint32(b[12:], h.partCipherSize)
	return b
}

// EncryptDocument reads plaintext from src until EOF and writes the blob of
// docs/FORMAT.md to dst: a header, then parts of the manager's part size,
// each a Tink streaming-AEAD ciphertext bound to ref, its index and whether
// it is the last. Memory stays at about one part whatever the length.
// Errors: invalid (bad ref), not_found (unknown tenant), cannot_decrypt
// (keysets do not unwrap), internal, or the error of src or dst as is.
func (m *Manager) EncryptDocument(ctx context.Context, ref vault.DocRef, src io.Reader, dst io.Writer) (vault.Sealed, error) {
	if err := validRef(ref); err != nil {
		return vault.Sealed{}, err
	}
	tk, err := m.tenant(ctx, ref.TenantID)
	if err != nil {
		return vault.Sealed{}, err
	}
	p := m.partSize
	c, err := tk.partCipherSize(p)
	if err != nil {
		return vault.Sealed{}, err
	}

	cw := &countWriter{w: dst}
	if _, err := cw.Write(header{partSize: uint32(p), partCipherSize: uint32(c)}.marshal()); err != nil {
		return vault.Sealed{}, err
	}

	// buf holds one part plus one byte read ahead: a part is the last one
	// exactly when that byte does not arrive.
	buf := make([]byte, p+1)
	have := 0
	src = &sourceReader{r: src}
	var size int64
	for index := uint64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return vault.Sealed{}, err
		}
		n, err := io.ReadFull(src, buf[have:])
		have += n
		final := false
		var se *sourceError
		switch {
		case errors.As(err, &se):
			// The source failed (even with io.ErrUnexpectedEOF, as a cut
			// connection does): never mistake that for the end of input.
			return vault.Sealed{}, se.err
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			final = true
		default:
			return vault.Sealed{}, err
		}
		part := buf[:min(have, p)]

		before := cw.n
		if err := tk.sealPart(cw, part, partAD(ref.TenantID, ref.DocumentID, ref.Version, index, final)); err != nil {
			return vault.Sealed{}, err
		}
		if got := cw.n - before; (!final && got != int64(c)) || got > int64(c) {
			return vault.Sealed{}, vault.Errorf(vault.EINTERNAL, "Part ciphertext has %d bytes, want %d.", got, c)
		}
		size += int64(len(part))
		if final {
			break
		}
		buf[0] = buf[p]
		have = 1
	}
	return vault.Sealed{
		Size:           size,
		CiphertextSize: cw.n,
		PartSize:       p,
		PartCipherSize: c,
		KeyID:          tk.docKeyID,
	}, nil
}

// sealPart writes one part as a complete streaming-AEAD ciphertext to cw.
// A failure of the destination is returned as is.
func (tk *tenantKeys) sealPart(cw *countWriter, part, ad []byte) error {
	return sealPart(tk.doc, cw, part, ad, "Cannot encrypt document.")
}

// sealPart writes part as one complete streaming-AEAD ciphertext under sa
// to cw: a failure of the destination is returned as is, one of the
// cipher as internal with message.
func sealPart(sa tink.StreamingAEAD, cw *countWriter, part, ad []byte, message string) error {
	w, err := sa.NewEncryptingWriter(cw, ad)
	if err == nil {
		_, err = w.Write(part)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if cw.err != nil {
		return cw.err
	}
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "%s", message)
	}
	return nil
}

// partCipherSize returns the ciphertext size of a full part of p plaintext
// bytes under the primary key. Tink's ciphertext length depends only on the
// key's parameters and the plaintext length, so encrypting p zero bytes once
// tells it without restating Tink's format here. A Manager has one part
// size, so the value is computed once per loaded keyset.
func (tk *tenantKeys) partCipherSize(p int) (int, error) {
	tk.cipherOnce.Do(func() {
		cw := &countWriter{w: io.Discard}
		zeros := make([]byte, min(p, 64<<10))
		w, err := tk.doc.NewEncryptingWriter(cw, partAD("", "", 0, 0, false))
		for left := p; err == nil && left > 0; left -= len(zeros) {
			_, err = w.Write(zeros[:min(left, len(zeros))])
		}
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			tk.cipherErr = vault.WrapError(vault.EINTERNAL, err, "Cannot size document parts.")
			return
		}
		tk.cipherSize = int(cw.n)
	})
	return tk.cipherSize, tk.cipherErr
}

// validRef rejects a DocRef that cannot name a document version.
func validRef(ref vault.DocRef) error {
	if ref.TenantID == "" || ref.DocumentID == "" || ref.Version < 1 {
		return vault.Errorf(vault.EINVALID, "Invalid document reference.")
	}
	return nil
}

// countWriter counts the bytes written through it and remembers the first
// error of the underlying writer, so it can be told from Tink's own.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// checkHeader reports whether b is the header of a blob laid out as s says.
func checkHeader(b []byte, s vault.Sealed) bool {
	want := header{partSize: uint32(s.PartSize), partCipherSize: uint32(s.PartCipherSize)}.marshal()
	return bytes.Equal(b, want)
}

// sourceReader marks the errors of the plaintext source, so that io.ReadFull's
// own io.ErrUnexpectedEOF (a short final part) is told apart from a source
// that itself failed with io.ErrUnexpectedEOF.
type sourceReader struct{ r io.Reader }

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// sourceError is an error of the plaintext source.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
