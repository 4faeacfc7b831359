package keys

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/casevault/casevault/vault"
)

// DecryptRange returns a reader of plaintext bytes [offset, offset+length)
// of backup object o, whose ciphertext is cipherSize bytes; length < 0
// reads to the end. It fetches the header and the parts the range
// overlaps, no other, and releases a part's plaintext only once it has
// authenticated: the first before DecryptRange returns, later ones as Read
// reaches them. Errors: invalid (range out of bounds), cannot_decrypt
// (tampered, truncated, renamed or of another region), not_found and
// unavailable as fetch reports them.
func (k *BackupKey) DecryptRange(ctx context.Context, o BackupObject, cipherSize, offset, length int64, fetch vault.RangeFetcher) (io.ReadCloser, error) {
	size, err := k.PlainSize(cipherSize)
	if err != nil {
		return nil, err
	}
	if length < 0 {
		length = max(size-offset, 0)
	}
	if offset < 0 || offset > size || length > size-offset {
		return nil, vault.Errorf(vault.EINVALID, "Range %d+%d is outside the backup object's %d bytes.", offset, length, size)
	}
	c := BackupPartSize + k.overhead
	parts := int64(1)
	if size > 0 {
		parts = (size-1)/BackupPartSize + 1
	}
	first := min(offset/BackupPartSize, parts-1)
	last := first
	if length > 0 {
		last = (offset + length - 1) / BackupPartSize
	}
	r := &backupReader{k: k, o: o, size: size, parts: parts, c: c, next: first, last: last,
		skip: offset - first*BackupPartSize, remaining: length}

	hdr, err := readAllFetched(ctx, fetch, 0, headerSize)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(hdr, k.backupHeader()) {
		return nil, vault.Errorf(vault.ECANNOTDECRYPT, "Backup object cannot be decrypted: header does not match.")
	}
	start := headerSize + first*c
	end := min(headerSize+(last+1)*c, cipherSize)
	body, err := fetch(ctx, start, end-start)
	if err != nil {
		return nil, backupFetchErr(err)
	}
	r.body = body
	if err := r.nextPart(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// backupReader decrypts the parts of a range one at a time.
type backupReader struct {
	k         *BackupKey
	o         BackupObject
	size      int64
	parts, c  int64
	next      int64 // index of the next part to decrypt
	last      int64
	body      io.ReadCloser
	skip      int64
	remaining int64
	pending   []byte
	err       error
}

func (r *backupReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.remaining == 0 {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.err = r.nextPart(); r.err != nil {
			return 0, r.err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// nextPart reads, authenticates and queues the next part of the range.
func (r *backupReader) nextPart() error {
	if r.next > r.last {
		return vault.Errorf(vault.ECANNOTDECRYPT, "Backup object cannot be decrypted: range beyond its parts.")
	}
	i := r.next
	final := i == r.parts-1
	n := r.c
	want := int64(BackupPartSize)
	if final {
		want = r.size - i*BackupPartSize
		n = want + r.k.overhead
	}
	ct := make([]byte, n)
	if _, err := io.ReadFull(r.body, ct); err != nil {
		return backupFetchErr(err)
	}
	dec, err := r.k.sa.NewDecryptingReader(bytes.NewReader(ct), backupPartAD(r.k.region, r.o, uint64(i), final))
	if err != nil {
		return vault.WrapError(vault.ECANNOTDECRYPT, err, "Backup object cannot be decrypted: part %d does not authenticate.", i)
	}
	pt, err := io.ReadAll(dec)
	if err != nil || int64(len(pt)) != want {
		return vault.WrapError(vault.ECANNOTDECRYPT, err, "Backup object cannot be decrypted: part %d does not authenticate.", i)
	}
	r.next++
	pt = pt[r.skip:]
	r.skip = 0
	if int64(len(pt)) > r.remaining {
		pt = pt[:r.remaining]
	}
	r.remaining -= int64(len(pt))
	r.pending = pt
	return nil
}

// Close releases the fetched stream.
func (r *backupReader) Close() error {
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}

// readAllFetched fetches and reads n bytes at off.
func readAllFetched(ctx context.Context, fetch vault.RangeFetcher, off, n int64) ([]byte, error) {
	rc, err := fetch(ctx, off, n)
	if err != nil {
		return nil, backupFetchErr(err)
	}
	defer rc.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, backupFetchErr(err)
	}
	return b, nil
}

// backupFetchErr translates a failure to read ciphertext: running out of
// bytes means truncation, cannot_decrypt.
func backupFetchErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return vault.WrapError(vault.ECANNOTDECRYPT, err, "Backup object cannot be decrypted: ciphertext is truncated.")
	}
	var verr *vault.Error
	if errors.As(err, &verr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return vault.WrapError(vault.EUNAVAILABLE, err, "Backup ciphertext cannot be read.")
}
