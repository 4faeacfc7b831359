package s3test

import (
	"context"
	"net"
	"sync"
	"testing"

	"golang.org/x/time/rate"
)

// linkChunk is the most a Link moves at once: also its limiter's burst.
const linkChunk = 64 << 10

// Link is a TCP proxy on loopback in front of a server: the network link
// to a site. Its bandwidth, shared by every connection through it (both
// directions), can be capped, so that a benchmark on one machine sees a
// site as one reached over a network, whose speed is not taken from the
// CPU the other processes share.
type Link struct {
	// Endpoint is the proxy's host:port, to use in place of the server's.
	Endpoint string

	ln      net.Listener
	target  string
	limiter *rate.Limiter
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

// NewLink starts a Link to target (host:port), uncapped, and stops it when
// the test ends.
func NewLink(tb testing.TB, target string) *Link {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l := &Link{Endpoint: ln.Addr().String(), ln: ln, target: target,
		limiter: rate.NewLimiter(rate.Inf, linkChunk), conns: map[net.Conn]bool{}}
	l.wg.Go(l.accept)
	tb.Cleanup(l.Close)
	return l
}

// SetRate caps the link at bytesPerSecond (both directions together); 0
// lifts the cap.
func (l *Link) SetRate(bytesPerSecond float64) {
	if bytesPerSecond <= 0 {
		l.limiter.SetLimit(rate.Inf)
		return
	}
	l.limiter.SetLimit(rate.Limit(bytesPerSecond))
}

// Close stops the link and cuts every connection through it.
func (l *Link) Close() {
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *Link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.wg.Go(func() { l.serve(c) })
	}
}

func (l *Link) track(c net.Conn, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.conns[c] = true
	} else {
		delete(l.conns, c)
	}
}

func (l *Link) serve(c net.Conn) {
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		c.Close()
		return
	}
	l.track(c, true)
	l.track(up, true)
	var wg sync.WaitGroup
	wg.Go(func() { l.pipe(up, c) })
	wg.Go(func() { l.pipe(c, up) })
	wg.Wait()
	l.track(c, false)
	l.track(up, false)
}

// pipe copies src to dst at the link's rate, then closes both.
func (l *Link) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, linkChunk)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if l.limiter.WaitN(context.Background(), n) != nil {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a cut connection
			return
		}
	}
}
