package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
)

// genSource is an audit.Source of n synthetic events that holds none of
// them: each Records/RawRecords call generates the leaves again, one at a
// time, from a deterministic function of the sequence number (and the
// previous leaf's hash, for Prev). So that a benchmark measures the export
// and not the fixture, it keeps only O(log n) hashes and its signed
// checkpoints (one per checkpointEvery events, as audit.Log signs them, a
// few hundred bytes each).
//
// Building it walks the n leaves once, computing their stored hashes with
// tlog.StoredHashes incrementally: the hash reader it needs is the frontier
// of complete subtrees, at most 64 hashes, from which tlog.TreeHash also
// gives the root of every checkpoint.
type genSource struct {
	tenant string
	n      int64
	signer note.Signer
	vkey   string
	keys   *memKeys
	start  time.Time
	cps    []*audit.Checkpoint
}

const checkpointEvery = 1000

func newGenSource(tb testing.TB, n int64) *genSource {
	tb.Helper()
	skey, vkey := testKey(tb, "casevault-audit-bench", "bench")
	signer, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	g := &genSource{tenant: testTenant, n: n, signer: signer, vkey: vkey, keys: newMemKeys("bench"),
		start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	frontier := frontierReader{}
	err = g.generate(func(seq int64, leaf []byte) error {
		hs, err := tlog.StoredHashes(seq-1, leaf, frontier)
		if err != nil {
			return err
		}
		frontier.add(seq-1, hs)
		if seq%checkpointEvery == 0 || seq == n {
			root, err := tlog.TreeHash(seq, frontier)
			if err != nil {
				return err
			}
			msg, err := note.Sign(&note.Note{Text: audit.CheckpointText(g.tenant, seq, root)}, signer)
			if err != nil {
				return err
			}
			g.cps = append(g.cps, &audit.Checkpoint{Tenant: g.tenant, Size: seq, Root: root, Note: msg})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// frontierReader holds the stored hashes that later StoredHashes and
// TreeHash calls read: the roots of the complete subtrees the leaves so far
// decompose into.
type frontierReader map[int64]tlog.Hash

func (f frontierReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := f[x]
		if !ok {
			return nil, fmt.Errorf("stored hash %d is not on the frontier", x)
		}
		out[i] = h
	}
	return out, nil
}

// add records the stored hashes of leaf index i: the last of them is the
// root of the subtree that leaf completes; the roots it was built from are
// no longer on the frontier.
func (f frontierReader) add(i int64, hs []tlog.Hash) {
	for level := 1; level < len(hs); level++ {
		delete(f, tlog.StoredHashIndex(level-1, (i>>level)<<1))
	}
	f[tlog.StoredHashIndex(len(hs)-1, i>>(len(hs)-1))] = hs[len(hs)-1]
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

var benchActions = []string{"document.view", "document.download", "document.upload", "grant.create", "login", "matter.create"}

// generate calls fn with the leaves 1..n. It writes them by appending to a
// template, as a database hands out stored bytes, rather than through
// audit.Encode, whose reflection would cost more than the export it feeds;
// the strings need no JSON escaping, so the bytes are exactly what Encode
// writes (TestGenSource checks it, and Verify rejects anything else).
func (g *genSource) generate(fn func(seq int64, leaf []byte) error) error {
	var leaf, p, pt []byte
	prev := ""
	for seq := int64(1); seq <= g.n; seq++ {
		u := strconv.FormatInt(seq%97, 10)
		doc := strconv.FormatInt(seq%5003, 10)
		id := "evt_" + strconv.FormatInt(seq, 36)
		p = append(append(append(p[:0], `{"name":"Document `...), doc...), `.pdf"}`...)
		nonce := testNonce(seq)
		pt = append(append(append(pt[:0], b64(nonce)...), '\n'), p...)

		leaf = append(leaf[:0], `{"v":1,"tenant":"`+g.tenant+`","seq":`...)
		leaf = strconv.AppendInt(leaf, seq, 10)
		leaf = append(leaf, `,"id":"`+id+`","time":"`...)
		leaf = g.start.Add(time.Duration(seq)*time.Second).AppendFormat(leaf, audit.TimeLayout)
		leaf = append(leaf, `","prev":"`+prev+`","actor_id":"usr_`+u+`","actor_email":"user`+u+`@firm.example","source":"10.1.`+u+`.7"`...)
		leaf = append(leaf, `,"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0","action":"`+benchActions[seq%int64(len(benchActions))]...)
		leaf = append(leaf, `","object_type":"document","object_id":"doc_`+doc+`","outcome":"ok","details":{"matter_id":"mat_`...)
		leaf = strconv.AppendInt(leaf, seq%211, 10)
		leaf = append(leaf, `","size":"`...)
		leaf = strconv.AppendInt(leaf, seq*7919%1000000, 10)
		leaf = append(leaf, `"},"sealed":"`...)
		leaf = base64.StdEncoding.AppendEncode(leaf, g.keys.seal(g.tenant, id, seq, string(pt)))
		leaf = append(leaf, `","commit":"`+audit.CommitTo(nonce, p)+`"}`...)
		if err := fn(seq, leaf); err != nil {
			return err
		}
		prev = audit.PrevOf(leaf)
	}
	return nil
}

func (g *genSource) RawRecords(ctx context.Context, tenant string, fn func(int64, []byte) error) error {
	err := g.generate(fn)
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func (g *genSource) Records(ctx context.Context, tenant string, f audit.Filter, fn func(*audit.Record) error) error {
	if !f.Empty() {
		return errors.New("genSource: filters are not supported")
	}
	return g.RawRecords(ctx, tenant, func(seq int64, leaf []byte) error {
		return fn(&audit.Record{Seq: seq, Leaf: leaf})
	})
}

func (g *genSource) Checkpoints(ctx context.Context, tenant string, upTo int64, fn func(*audit.Checkpoint) error) error {
	for _, c := range g.cps {
		if c.Size > upTo {
			break
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (g *genSource) Checkpoint(ctx context.Context, tenant string) (*audit.Checkpoint, error) {
	return g.cps[len(g.cps)-1], nil
}

func (g *genSource) Prove(ctx context.Context, tenant string, seq, size int64) (tlog.RecordProof, error) {
	return nil, errors.New("genSource: no proofs")
}

func (g *genSource) ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error) {
	return nil, errors.New("genSource: no proofs")
}

func (g *genSource) VerifierKey(ctx context.Context, tenant string) (string, error) {
	return g.vkey, nil
}

func TestGenSource(t *testing.T) {
	// The generator's checkpoints agree with the real tree functions, and
	// its bundle verifies.
	g := newGenSource(t, 2500)
	s := newMemSource(t, testTenant, "gen check")
	err := g.generate(func(seq int64, leaf []byte) error {
		hs, err := tlog.StoredHashes(seq-1, leaf, s)
		s.hashes = append(s.hashes, hs...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.cps {
		root, err := tlog.TreeHash(c.Size, s)
		if err != nil || root != c.Root {
			t.Fatalf("checkpoint %d: root %v, want %v (%v)", c.Size, c.Root, root, err)
		}
	}
	err = g.generate(func(seq int64, leaf []byte) error {
		e, err := audit.Decode(leaf)
		if err != nil {
			return fmt.Errorf("generated leaf %d: %w", seq, err)
		}
		if again, _ := audit.Encode(e); !bytes.Equal(again, leaf) {
			return fmt.Errorf("generated leaf %d is not canonical", seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := audit.WriteBundle(context.Background(), &buf, g, &memOpener{keys: g.keys}, testTenant, audit.Filter{}, exportTime); err != nil {
		t.Fatal(err)
	}
	res := mustVerify(t, buf.Bytes(), audit.VerifyOptions{TrustedKey: g.vkey})
	if res.Events != 2500 || res.Checkpoints != 4 {
		t.Errorf("result %+v, want 2500 events and 4 checkpoints", *res)
	}
}

// BenchmarkBundle_1M exports a complete bundle of a million events and
// verifies it as it streams through a pipe, reporting the time and the
// peak memory of each. CASEVAULT_BENCH_EVENTS changes the number of events.
func BenchmarkBundle_1M(b *testing.B) {
	n := int64(benchEvents(b))
	ctx := context.Background()
	g := newGenSource(b, n)
	opener := &memOpener{keys: g.keys}
	b.ResetTimer()
	for range b.N {
		var size countWriter
		m := measure(func() {
			if err := audit.WriteBundle(ctx, &size, g, opener, testTenant, audit.Filter{}, exportTime); err != nil {
				b.Fatal(err)
			}
		})
		var res *audit.VerifyResult
		v := measure(func() {
			pr, pw := io.Pipe()
			go func() {
				pw.CloseWithError(audit.WriteBundle(ctx, pw, g, opener, testTenant, audit.Filter{}, exportTime))
			}()
			var err error
			if res, err = audit.Verify(pr, audit.VerifyOptions{TrustedKey: g.vkey}); err != nil {
				b.Fatal(err)
			}
		})
		if res.Events != n {
			b.Fatalf("verified %d events, want %d", res.Events, n)
		}
		b.ReportMetric(m.seconds, "export-s")
		b.ReportMetric(m.heapMiB, "export-peak-heap-MiB")
		b.ReportMetric(m.rssMiB, "export-peak-rss-MiB")
		b.ReportMetric(v.seconds, "export+verify-s")
		b.ReportMetric(v.heapMiB, "verify-peak-heap-MiB")
		b.ReportMetric(v.rssMiB, "verify-peak-rss-MiB")
		b.ReportMetric(float64(size)/(1<<20), "bundle-MiB")
		fmt.Fprintf(os.Stderr, "BenchmarkBundle_1M: %d events, %d checkpoints, bundle %.0f MiB, GOMAXPROCS %d\n"+
			"  WriteBundle to io.Discard:      %.2f s, peak heap %.1f MiB, peak RSS %.1f MiB%s\n"+
			"  WriteBundle | pipe | Verify:    %.2f s, peak heap %.1f MiB, peak RSS %.1f MiB%s\n",
			n, res.Checkpoints, float64(size)/(1<<20), runtime.GOMAXPROCS(0),
			m.seconds, m.heapMiB, m.rssMiB, m.rssNote, v.seconds, v.heapMiB, v.rssMiB, v.rssNote)
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

type measurement struct {
	seconds, heapMiB, rssMiB float64
	rssNote                  string
}

// measure runs fn and reports its wall time, the largest heap in use seen
// (objects and the free space of in-use spans, as HeapInuse; sampled every
// 5 ms) and the process's peak RSS while it ran: VmHWM from
// /proc/self/status, reset beforehand through /proc/self/clear_refs after
// the heap was returned to the system.
func measure(fn func()) measurement {
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	// runtime/metrics reads without stopping the world, unlike
	// runtime.ReadMemStats, which at this rate would slow what it measures.
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if inuse := samples[0].Value.Uint64() + samples[1].Value.Uint64(); inuse > peak.Load() {
				peak.Store(inuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	start := time.Now()
	fn()
	m := measurement{seconds: time.Since(start).Seconds()}
	close(done)
	wg.Wait()
	m.heapMiB = float64(peak.Load()) / (1 << 20)
	m.rssMiB = vmHWM() / 1024
	if !reset {
		m.rssNote = " (VmHWM could not be reset: peak of the whole process)"
	}
	return m
}

// vmHWM returns the peak resident set size of the process in KiB.
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	return 0
}
