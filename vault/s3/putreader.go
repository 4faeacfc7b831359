package s3

import (
	"context"
	"errors"
	"io"

	"github.com/casevault/casevault/vault"
)

var (
	errTooLong = errors.New("s3: reader yields more bytes than announced")
	errShort   = errors.New("s3: reader yields fewer bytes than announced")
)

// putReader feeds an upload. It fails the upload, rather than letting it
// complete, when ctx is done, when r fails, or when r does not yield exactly
// size bytes (size >= 0). It checks all three before handing over the bytes
// that would complete the object, and withholds them on failure: minio-go
// sends what it has read, and a body that reached its Content-Length, or a
// last part, could otherwise be committed by the server.
//
// It is deliberately neither an io.Seeker nor an io.ReaderAt: minio-go then
// streams it once and never retries a request whose body it cannot rewind.
type putReader struct {
	ctx  context.Context
	r    io.Reader
	size int64 // -1: unknown
	n    int64 // bytes handed over
	done bool  // r is known to be exhausted
	err  error // the first failure; sticky
	src  bool  // err came from r
}

func (p *putReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if err := p.ctx.Err(); err != nil {
		return 0, p.fail(err, false)
	}
	if p.done {
		return 0, io.EOF
	}
	if p.size >= 0 {
		left := p.size - p.n
		if left == 0 {
			// Only reached when size is 0, or r gave its last byte with EOF
			// only on a later call; check for trailing bytes either way.
			if err := p.probe(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		if int64(len(b)) > left {
			b = b[:left]
		}
	}
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		return 0, p.fail(err, true)
	}
	if cerr := p.ctx.Err(); cerr != nil {
		return 0, p.fail(cerr, false)
	}
	if p.size < 0 {
		p.n += int64(n)
		if err == io.EOF {
			p.done = true
		}
		return n, err
	}
	switch {
	case p.n+int64(n) == p.size:
		if err != io.EOF {
			if perr := p.probe(); perr != nil {
				return 0, perr
			}
		}
		p.done = true
	case err == io.EOF:
		return 0, p.fail(errShort, false)
	}
	p.n += int64(n)
	return n, nil
}

// probe reads one more byte: EOF is as it should be, a byte means the source
// is longer than announced.
func (p *putReader) probe() error {
	var one [1]byte
	for range 100 { // readers may return 0, nil a few times
		n, err := p.r.Read(one[:])
		switch {
		case n > 0:
			return p.fail(errTooLong, false)
		case err == io.EOF:
			p.done = true
			return nil
		case err != nil:
			return p.fail(err, true)
		}
	}
	return p.fail(io.ErrNoProgress, true)
}

func (p *putReader) fail(err error, src bool) error {
	p.err, p.src = err, src
	return err
}

// error returns the vault error for the reader's failure.
func (p *putReader) error() error {
	switch {
	case errors.Is(p.err, errTooLong), errors.Is(p.err, errShort):
		return vault.WrapError(vault.EINVALID, p.err, "The object does not have its announced size.")
	case !p.src:
		return ctxError(p.err)
	case errors.Is(p.err, context.Canceled), errors.Is(p.err, context.DeadlineExceeded):
		return ctxError(p.err)
	default:
		// Keep the code of a source's *vault.Error (a failing encrypter, say).
		return vault.WrapError(vault.ErrorCode(p.err), p.err, "Cannot read the data to store.")
	}
}
