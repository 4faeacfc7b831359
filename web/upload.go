package web

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// Limits on the multipart envelope around an uploaded file.
const (
	// multipartSlack is what a multipart body may carry beyond the
	// document itself: boundaries, part headers, small fields.
	multipartSlack = 1 << 20
	// maxSkippedParts and maxSkippedPartSize bound the fields a client
	// may send before the file part; they are read and dropped.
	maxSkippedParts    = 16
	maxSkippedPartSize = 64 << 10
)

// upload is a document body taken from a request, as a stream: either the
// raw request body or the "file" part of a multipart/form-data body. Nothing
// is buffered beyond what the multipart reader holds, and nothing touches
// disk (no FormFile, no ParseMultipartForm).
type upload struct {
	Name        string // ?name=, else the file part's filename as sent
	ContentType string // the body's or the part's type; "" when not given
	Size        int64  // exact plaintext length, or -1 when unknown
	Body        io.Reader
}

// openUpload prepares the request body of c as an upload. For multipart it
// reads up to the file part's headers; the part's bytes are left for the
// vault to stream. Errors: invalid (malformed multipart, no file part),
// too_large.
func (s *Server) openUpload(c *gin.Context) (*upload, error) {
	max := s.Service.MaxDocumentSize
	r := c.Request
	ctype := r.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ctype)
	if ctype != "" && err != nil {
		return nil, vault.Errorf(vault.EINVALID, "Content-Type %q is not a valid media type.", ctype)
	}

	if mediaType != "multipart/form-data" {
		if mediaType == "multipart/mixed" || mediaType == "multipart/alternative" || mediaType == "multipart/related" {
			return nil, vault.Errorf(vault.EINVALID, "Send the document as multipart/form-data with a file part, or as a raw body.")
		}
		if max > 0 {
			r.Body = http.MaxBytesReader(rawWriter(c), r.Body, max)
		}
		return &upload{
			Name:        c.Query("name"),
			ContentType: ctype,
			Size:        r.ContentLength, // -1 when chunked
			Body:        &bodyReader{r: r.Body, max: max},
		}, nil
	}

	if params["boundary"] == "" {
		return nil, vault.Errorf(vault.EINVALID, "Multipart body has no boundary parameter in its Content-Type.")
	}
	if max > 0 {
		r.Body = http.MaxBytesReader(rawWriter(c), r.Body, max+multipartSlack)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Malformed multipart body.")
	}
	for skipped := 0; ; skipped++ {
		part, err := mr.NextPart()
		switch {
		case errors.Is(err, io.EOF):
			return nil, vault.Errorf(vault.EINVALID, `Multipart body has no "file" part.`)
		case err != nil:
			return nil, uploadError(err, max, "Malformed multipart body.")
		}
		if part.FormName() == "file" {
			name := c.Query("name")
			if name == "" {
				name = rawFileName(part)
			}
			return &upload{
				Name:        name,
				ContentType: part.Header.Get("Content-Type"),
				Size:        -1,
				Body:        &bodyReader{r: part, max: max},
			}, nil
		}
		if skipped == maxSkippedParts {
			return nil, vault.Errorf(vault.EINVALID, `Too many parts before the "file" part.`)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(part, maxSkippedPartSize+1))
		if err != nil {
			return nil, uploadError(err, max, "Malformed multipart body.")
		}
		if n > maxSkippedPartSize {
			return nil, vault.Errorf(vault.EINVALID, `A part before the "file" part is larger than %d bytes.`, maxSkippedPartSize)
		}
	}
}

// rawFileName returns the filename of a multipart part exactly as the
// client sent it (filename*, else filename, of its Content-Disposition).
// Part.FileName would cut "../../etc/passwd" down to "passwd"; the vault
// refuses a name with path parts instead, exactly as it refuses one given
// as ?name=.
func rawFileName(part *multipart.Part) string {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// bodyReader translates the errors of reading an upload into vault errors,
// so the client gets a clear code whatever layer noticed the problem.
type bodyReader struct {
	r   io.Reader
	max int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = uploadError(err, b.max, "The upload ended early or was malformed; nothing was stored.")
	}
	return n, err
}

// uploadError classifies an error from reading an upload body: the
// MaxBytesReader cap is too_large; anything else (a client that went away,
// a truncated or malformed body) is invalid with message.
func uploadError(err error, max int64, message string) error {
	var (
		tooLarge *http.MaxBytesError
		verr     *vault.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return vault.Errorf(vault.ETOOLARGE, "Document is larger than the %d bytes allowed.", max)
	case errors.As(err, &verr):
		return err
	}
	// The cause is dropped on purpose: an error that unwraps to
	// io.ErrUnexpectedEOF (a truncated body) would look like a normal end
	// of input to the encrypter, which takes ErrUnexpectedEOF from
	// io.ReadFull as the end of its last part.
	return vault.Errorf(vault.EINVALID, "%s", message)
}
