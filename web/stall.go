package web

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// An upload whose client stops sending, or trickles, holds server memory
// and, for an S3 region, a share of its upload memory for as long as it
// lasts. Such uploads are cut off with 408 timeout.
const (
	// DefaultUploadStallWindow is how long the server may wait on an
	// upload's client for UploadMinBytes to arrive.
	DefaultUploadStallWindow = 60 * time.Second
	// DefaultUploadMinBytes is the least an upload's client must send per
	// window of waiting: far below any real connection, far above a
	// trickle meant to hold the server's resources.
	DefaultUploadMinBytes = 16 << 10
)

// codeTimeout answers an upload whose client stalled: 408.
const codeTimeout = "timeout"

// stallReader reads an upload's request body and fails it, with
// codeTimeout, when its client sends nothing for a whole window, or fewer
// than min bytes over a window of time spent waiting for it. Only time
// blocked in Read counts, so a server that is slow to read (busy, or
// waiting for upload memory) never makes a client look stalled.
type stallReader struct {
	r      io.ReadCloser
	rc     *http.ResponseController
	window time.Duration
	min    int64

	waited time.Duration // blocked in Read during the current window
	n      int64         // bytes read during the current window
	err    error         // sticky
}

// guardUpload wraps c's request body in a stallReader.
func (s *Server) guardUpload(c *gin.Context) {
	c.Request.Body = &stallReader{r: c.Request.Body, rc: http.NewResponseController(rawWriter(c)),
		window: s.UploadStallWindow, min: s.UploadMinBytes}
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.waited >= s.window {
		if s.n < s.min {
			return 0, s.stalled()
		}
		s.waited, s.n = 0, 0
	}
	// A Read blocked for a whole window means the client sent nothing in
	// that time. (A read deadline also ends the request: net/http cancels
	// its context, so it cannot be a softer limit.)
	_ = s.rc.SetReadDeadline(time.Now().Add(s.window))
	start := time.Now()
	n, err := s.r.Read(p)
	s.waited += time.Since(start)
	s.n += int64(n)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, s.stalled()
	case errors.Is(err, io.EOF):
		// All read: the rest of the request (storing, committing) must
		// not run into the deadline.
		_ = s.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (s *stallReader) Close() error { return s.r.Close() }

func (s *stallReader) stalled() error {
	s.err = vault.Errorf(codeTimeout, "Upload stalled: the client sent fewer than %d bytes in %s.", s.min, s.window)
	return s.err
}
