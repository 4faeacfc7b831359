package keys

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"sync"

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
	if _, ok := tk.docKeys[s.KeyID]; !ok {
		// Possibly written by another process after a rotation this one
		// has not seen.
		if tk, _, err = m.refresh(ctx, ref.TenantID, tk); err != nil {
			return nil, err
		}
	}
	// The key the blob names decrypts it directly. A key unknown even after
	// the refresh, or of a type without its own primitive, goes through the
	// keyset, which tries every key: a wrong KeyID then fails to
	// authenticate like any other damage.
	sa := tk.docKeys[s.KeyID]
	if sa == nil {
		sa = tk.doc
	}

	first := min(offset/l.p, l.parts-1)
	last := first
	if length > 0 {
		last = (offset + length - 1) / l.p
	}
	start, end := l.cipherOff(first), l.cipherOff(last)+l.cipherLen(last)

	ctx, cancel := context.WithCancel(ctx)
	r := &rangeReader{
		ctx: ctx, cancel: cancel, sa: sa, ref: ref, l: l,
		skip: offset - first*l.p, remaining: length,
	}
	if alt, ok := vault.AlternateFetchFrom(ctx); ok {
		r.alt = &alt
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
		r.body.Close()
		if err != nil {
			cancel()
			return nil, r.fetchErr(err)
		}
		if err := r.open(fetch, start, end-start); err != nil {
			return nil, err
		}
	}
	if !checkHeader(hdr, s) && !r.alternateHeader(hdr, s) {
		r.Close()
		return nil, vault.Errorf(vault.ECANNOTDECRYPT, "Document cannot be decrypted: header does not match.")
	}
	r.start(first, last, m)
	if err := r.nextPart(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// pipelineDepth is how many parts each stage may hold ahead of the next
// when a range read reads ahead: its memory is then about 2 × (depth +
// decryptWorkers) + 3 parts, whatever its size. Without read-ahead it is
// two parts.
const pipelineDepth = 2

// decryptWorkers is how many parts of one range are authenticated at once.
const decryptWorkers = 2

// A chunk is one part's ciphertext (from the fetcher) or plaintext (from the
// decrypter), or the error that ended the stage.
type chunk struct {
	i   int64
	b   []byte
	err error
}

// rangeReader serves plaintext part by part from one fetched stream. Three
// stages overlap: a fetcher reads ciphertext parts into buffers, a decrypter
// authenticates them whole, and Read hands out plaintext. The buffers come
// from fixed free lists: one ciphertext and one plaintext buffer, or, when
// the manager's read-ahead memory allows, enough for each stage to hold
// pipelineDepth parts.
type rangeReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	sa     tink.StreamingAEAD
	ref    vault.DocRef
	l      layout
	body   io.ReadCloser
	src    *errReader
	wg     sync.WaitGroup

	order      chan chan chunk // each part's result, in part order
	work       chan partJob    // fetched parts waiting for a decrypter
	cipherFree chan []byte     // ciphertext buffers to reuse
	plainFree  chan []byte     // plaintext buffers to reuse
	cur        []byte          // buffer behind pending, returned when drained

	skip      int64  // bytes of the first part before the range
	remaining int64  // bytes of the range not yet returned by Read
	pending   []byte // authenticated plaintext not yet returned
	err       error  // sticky

	m     *Manager // whose read-ahead memory ahead is
	ahead int64    // read-ahead memory held, released by Close

	// alt is the second copy of the blob (a mirror), nil for none: a
	// part that fails to authenticate is fetched from it again.
	alt    *vault.AlternateFetch
	served sync.Once
}

// open fetches ciphertext bytes [off, off+n) as r's source.
func (r *rangeReader) open(fetch vault.RangeFetcher, off, n int64) error {
	body, err := fetch(r.ctx, off, n)
	if err != nil {
		r.cancel()
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

// partJob is a fetched part on its way to a decrypter, with where its
// result goes.
type partJob struct {
	c   chunk
	res chan chunk
}

// partBuffers recycles part buffers across range reads: with many
// downloads at once, allocating (and zeroing) megabytes per request is a
// good share of the CPU a download costs. A buffer's old contents are
// never exposed: every use overwrites the bytes it returns.
var partBuffers sync.Pool // of *[]byte

// getPartBuffer returns a buffer of length n, recycled when one is big
// enough.
func getPartBuffer(n int64) []byte {
	if p, ok := partBuffers.Get().(*[]byte); ok && int64(cap(*p)) >= n {
		return (*p)[:n]
	}
	return make([]byte, n)
}

// putPartBuffer hands b back for reuse.
func putPartBuffer(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:0]
	partBuffers.Put(&b)
}

// start runs the fetcher and the decrypter for parts first..last, reading
// ahead when m has the memory for it.
func (r *rangeReader) start(first, last int64, m *Manager) {
	type job = partJob
	workers := int64(min(decryptWorkers, int(last-first+1)))
	work := make(chan job, pipelineDepth)
	cipherFree := make(chan []byte, pipelineDepth+workers+1)
	r.work, r.cipherFree = work, cipherFree
	r.order = make(chan chan chunk, pipelineDepth+workers)
	r.plainFree = make(chan []byte, pipelineDepth+workers+2)
	// Buffers are allocated on first use, so a one-part range holds one of
	// each whatever it was given.
	nCipher, nPlain := 1, 1
	if last > first {
		extra := int64(cap(cipherFree)-1)*r.l.c + int64(cap(r.plainFree)-1)*(r.l.p+1)
		if m.readAhead.TryAcquire(extra) {
			r.m, r.ahead = m, extra
			nCipher, nPlain = cap(cipherFree), cap(r.plainFree)
		}
	}
	for range nCipher {
		cipherFree <- nil
	}
	for range nPlain {
		r.plainFree <- nil
	}
	r.wg.Add(1 + int(workers))
	go func() { // fetcher: reads parts in order and queues their results in order
		defer r.wg.Done()
		defer close(work)
		defer close(r.order)
		src := r.src
		for i := first; i <= last; i++ {
			var b []byte
			select {
			case b = <-cipherFree:
			case <-r.ctx.Done():
				return
			}
			n := r.l.cipherLen(i)
			if int64(cap(b)) < n {
				putPartBuffer(b)
				b = getPartBuffer(r.l.cipherLen(0))
			}
			b = b[:n]
			j := job{c: chunk{i: i, b: b}, res: make(chan chunk, 1)}
			if _, err := io.ReadFull(src, b); err != nil {
				var rest io.ReadCloser
				if rest, err = r.refetch(i, last, b, err); rest != nil {
					defer rest.Close()
					src = &errReader{r: rest}
				}
				if err != nil {
					j.res <- chunk{err: r.fetchErr(err)}
				}
			}
			select {
			case r.order <- j.res:
			case <-r.ctx.Done():
				return
			}
			if len(j.res) > 0 { // the fetch failed: nothing after it
				return
			}
			select {
			case work <- j:
			case <-r.ctx.Done():
				return
			}
		}
	}()
	for range workers { // decrypters: authenticate whole parts in parallel
		go func() {
			defer r.wg.Done()
			for j := range work {
				var pb []byte
				select {
				case pb = <-r.plainFree:
				case <-r.ctx.Done():
					return
				}
				if int64(cap(pb)) < r.l.p+1 {
					putPartBuffer(pb)
					pb = getPartBuffer(r.l.p + 1)
				}
				c := j.c
				c.b, c.err = r.decryptPart(c.i, c.b, pb, cipherFree)
				if c.err != nil && r.alt != nil {
					c.b, c.err = r.alternatePart(c.i, pb, c.err)
				}
				if c.err != nil {
					r.plainFree <- pb[:0]
				}
				j.res <- c
			}
		}()
	}
}

// decryptPart authenticates part i from its whole ciphertext ct into buf,
// hands ct back to free, and returns the plaintext.
func (r *rangeReader) decryptPart(i int64, ct, buf []byte, free chan<- []byte) ([]byte, error) {
	defer func() { free <- ct[:0] }()
	want := r.l.plainLen(i)
	src := bytes.NewReader(ct)
	ad := partAD(r.ref.TenantID, r.ref.DocumentID, r.ref.Version, uint64(i), i == r.l.parts-1)
	dec, err := r.sa.NewDecryptingReader(src, ad)
	if err != nil {
		// A key's own primitive reads and checks the part's Tink header
		// here; the source is in memory, so any failure is the part's.
		return nil, authErr(i, err)
	}
	buf = buf[:want+1]
	var got int64
	for {
		if got == int64(len(buf)) {
			return nil, authErr(i, errors.New("part longer than its size"))
		}
		n, err := dec.Read(buf[got:])
		got += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, authErr(i, err)
		}
	}
	switch {
	case got != want:
		return nil, authErr(i, errors.New("part shorter than its size"))
	case src.Len() != 0:
		return nil, authErr(i, errors.New("part ciphertext is long"))
	}
	return buf[:got], nil
}

// authErr reports that part i failed to authenticate.
func authErr(i int64, err error) error {
	return vault.WrapError(vault.ECANNOTDECRYPT, err, "Document cannot be decrypted: part %d failed authentication.", i)
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
		if err := r.nextPart(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	r.remaining -= int64(n)
	return n, nil
}

// WriteTo writes the rest of the range to w straight from the authenticated
// part buffers, saving io.Copy a copy per byte.
func (r *rangeReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(r.pending) == 0 {
			if r.remaining == 0 {
				return total, nil
			}
			if r.err != nil {
				return total, r.err
			}
			if err := r.nextPart(); err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.pending)
		r.pending = r.pending[n:]
		r.remaining -= int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close stops the pipeline, releases the fetched stream and recycles the
// part buffers.
func (r *rangeReader) Close() error {
	r.cancel()
	var err error
	if r.body != nil {
		err = r.body.Close()
	}
	r.wg.Wait()
	r.body = nil
	r.recycle()
	if r.ahead > 0 {
		r.m.readAhead.Release(r.ahead)
		r.ahead = 0
	}
	return err
}

// recycle hands every part buffer the stopped pipeline still holds back to
// partBuffers. Called once the goroutines have ended.
func (r *rangeReader) recycle() {
	drain := func(ch chan []byte) {
		for ch != nil {
			select {
			case b := <-ch:
				putPartBuffer(b)
			default:
				return
			}
		}
	}
	drain(r.cipherFree)
	drain(r.plainFree)
	for r.work != nil {
		j, ok := <-r.work // closed by the fetcher
		if !ok {
			break
		}
		putPartBuffer(j.c.b)
	}
	for r.order != nil {
		res, ok := <-r.order // closed by the fetcher
		if !ok {
			break
		}
		select {
		case c := <-res:
			putPartBuffer(c.b)
		default:
		}
	}
	putPartBuffer(r.cur)
	r.cur, r.pending = nil, nil
	r.cipherFree, r.plainFree, r.work, r.order = nil, nil, nil, nil
}

// nextPart takes the next authenticated part from the decrypter and makes
// the part of it inside the range pending.
func (r *rangeReader) nextPart() error {
	if r.order == nil {
		r.err = vault.Errorf(vault.EINTERNAL, "Range reader is closed.")
		return r.err
	}
	if r.cur != nil {
		r.plainFree <- r.cur[:0]
		r.cur = nil
	}
	var c chunk
	res, ok := <-r.order
	if ok {
		select {
		case c = <-res:
		case <-r.ctx.Done():
			ok = false
		}
	}
	switch {
	case !ok && r.ctx.Err() != nil:
		c.err = r.ctx.Err()
	case !ok:
		c.err = vault.Errorf(vault.EINTERNAL, "Range reader ran past its last part.")
	}
	if c.err != nil {
		r.err, r.pending = c.err, nil
		return c.err
	}
	r.cur = c.b
	pt := c.b
	if r.skip > 0 { // only the first part of the range
		pt, r.skip = pt[r.skip:], 0
	}
	r.pending = pt[:min(int64(len(pt)), r.remaining)]
	return nil
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

// alternatePart fetches part i from the blob's second copy and
// authenticates it into buf, after the first copy's part failed with
// first. A part bad on both copies fails with first, as without a second
// copy.
func (r *rangeReader) alternatePart(i int64, buf []byte, first error) ([]byte, error) {
	if r.ctx.Err() != nil {
		return nil, first
	}
	n := r.l.cipherLen(i)
	body, err := r.alt.Fetch(r.ctx, r.l.cipherOff(i), n)
	if err != nil {
		return nil, first
	}
	ct := getPartBuffer(n)
	_, err = io.ReadFull(body, ct)
	body.Close()
	if err != nil {
		putPartBuffer(ct)
		return nil, first
	}
	free := make(chan []byte, 1)
	pt, err := r.decryptPart(i, ct, buf, free)
	putPartBuffer(<-free)
	if err != nil {
		return nil, first
	}
	r.servedAlternate()
	return pt, nil
}

// refetch reads part i into b from the blob's second copy when the first
// copy ended before it (a truncated object: first is io.EOF or
// io.ErrUnexpectedEOF), and returns the second copy's stream of the rest
// of the range, parts i..last, for the fetcher to go on with; the
// authentic parts before i were served from the first copy. Without a
// second copy, for any other failure, or when the second copy ends early
// too, it returns first and no stream.
func (r *rangeReader) refetch(i, last int64, b []byte, first error) (io.ReadCloser, error) {
	if r.alt == nil || r.ctx.Err() != nil || !(errors.Is(first, io.EOF) || errors.Is(first, io.ErrUnexpectedEOF)) {
		return nil, first
	}
	off := r.l.cipherOff(i)
	body, err := r.alt.Fetch(r.ctx, off, r.l.cipherOff(last)+r.l.cipherLen(last)-off)
	if err != nil {
		return nil, first
	}
	if _, err := io.ReadFull(body, b); err != nil {
		body.Close()
		return nil, first
	}
	// The part still has to authenticate; a copy that ends early is a
	// damaged one whatever the second copy holds, so repair it.
	r.servedAlternate()
	return body, nil
}

// alternateHeader reads the header from the blob's second copy into hdr
// and reports whether that one matches s.
func (r *rangeReader) alternateHeader(hdr []byte, s vault.Sealed) bool {
	if r.alt == nil {
		return false
	}
	body, err := r.alt.Fetch(r.ctx, 0, headerSize)
	if err != nil {
		return false
	}
	_, err = io.ReadFull(body, hdr)
	body.Close()
	if err != nil || !checkHeader(hdr, s) {
		return false
	}
	r.servedAlternate()
	return true
}

// servedAlternate tells the second copy's owner, once per read, that it
// served what the first copy could not.
func (r *rangeReader) servedAlternate() {
	r.served.Do(func() {
		if r.alt.Served != nil {
			r.alt.Served()
		}
	})
}
