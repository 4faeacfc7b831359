package audit

import (
	"io"

	"golang.org/x/mod/sumdb/tlog"
)

// The streaming parts of Verify: a read-ahead that keeps the verifier busy
// while its input arrives, and the stack of subtree roots that computes an
// RFC 6962 tree root in constant memory.

// readAhead reads its source in a goroutine, up to a few chunks ahead of
// the verifier, so that reading (from a pipe, say, whose writer waits for
// each write to be consumed) and checking overlap. Its memory is fixed.
type readAhead struct {
	full chan []byte // chunks read, in order
	free chan []byte // chunks to read into
	done chan struct{}
	cur  []byte // unread part of the chunk being consumed
	last []byte // that chunk, to be freed once consumed
	err  error  // of the source, once full is drained
	errc chan error
}

const (
	readAheadChunk  = 128 << 10
	readAheadChunks = 8
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full: make(chan []byte, readAheadChunks), free: make(chan []byte, readAheadChunks),
		done: make(chan struct{}), errc: make(chan error, 1),
	}
	for range readAheadChunks {
		ra.free <- make([]byte, readAheadChunk)
	}
	go func() {
		defer close(ra.full)
		for {
			var buf []byte
			select {
			case <-ra.done:
				return
			default:
			}
			select {
			case buf = <-ra.free:
			case <-ra.done:
				return
			}
			n, err := io.ReadAtLeast(r, buf, 1)
			if n > 0 {
				ra.full <- buf[:n] // never blocks: there are as many slots as chunks
			}
			if err != nil {
				ra.errc <- err
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.last != nil {
			ra.free <- ra.last[:cap(ra.last)]
			ra.last = nil
		}
		if ra.err != nil {
			return 0, ra.err
		}
		buf, ok := <-ra.full
		if !ok {
			ra.err = <-ra.errc
			if ra.err == io.ErrUnexpectedEOF {
				ra.err = io.EOF
			}
			continue
		}
		ra.cur, ra.last = buf, buf
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// stop ends the reading goroutine once its current read returns.
func (ra *readAhead) stop() { close(ra.done) }

// treeStack computes the RFC 6962 root of a growing list of leaf hashes:
// it holds the roots of the perfect subtrees that the binary digits of the
// count decompose the list into, largest first.
type treeStack struct {
	n int64 // leaves pushed
	k int   // subtree roots held
	h [64]tlog.Hash
}

func (t *treeStack) push(leafHash tlog.Hash) {
	h := leafHash
	for i := t.n; i&1 == 1; i >>= 1 {
		t.k--
		h = tlog.NodeHash(t.h[t.k], h)
	}
	t.h[t.k] = h
	t.k++
	t.n++
}

func (t *treeStack) root() tlog.Hash {
	if t.k == 0 {
		h, _ := tlog.TreeHash(0, nil) // the empty tree: SHA-256 of nothing
		return h
	}
	h := t.h[t.k-1]
	for i := t.k - 2; i >= 0; i-- {
		h = tlog.NodeHash(t.h[i], h)
	}
	return h
}

func (t *treeStack) copyFrom(o *treeStack) {
	t.n, t.k = o.n, o.k
	copy(t.h[:o.k], o.h[:o.k])
}
