package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// Only time spent waiting on the client counts: a server that reads slowly
// (busy, or waiting for upload memory) never makes its client look stalled,
// while a client that is slow while the server waits does.
func TestStallReader_CountsOnlyWaiting(t *testing.T) {
	read := func(body io.Reader, pause time.Duration) error {
		s := &stallReader{r: io.NopCloser(body), rc: http.NewResponseController(httptest.NewRecorder()), window: 50 * time.Millisecond, min: 1024}
		buf := make([]byte, 10)
		for {
			_, err := s.Read(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			time.Sleep(pause) // the server's own work between reads
		}
	}
	// 100 bytes, read over 200 ms by a slow server: fewer than min bytes
	// in far more than a window, but none of it spent waiting.
	if err := read(strings.NewReader(strings.Repeat("x", 100)), 20*time.Millisecond); err != nil {
		t.Fatalf("a slow server cut off its client: %v", err)
	}
	// The same bytes from a client that takes 20 ms per read.
	err := read(&slowReader{r: strings.NewReader(strings.Repeat("x", 100)), pause: 20 * time.Millisecond}, 0)
	if vault.ErrorCode(err) != codeTimeout {
		t.Fatalf("a trickling client = %v, want %s", err, codeTimeout)
	}
}

// slowReader waits pause before each read, like a client that trickles.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(p)
}
