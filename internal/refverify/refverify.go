// Package refverify is a second, independent verifier of CaseVault audit
// bundles, written from docs/AUDIT-FORMAT.md alone: it shares no code with
// package audit (which it must not import) and uses only the standard
// library and golang.org/x/mod/sumdb/note for signed notes. Tests run both
// verifiers on the same bundles, so that the format page, not one
// implementation, is what bundles are checked against.
package refverify

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Result describes a bundle that verified.
type Result struct {
	Tenant      string
	Complete    bool
	Events      int64
	Checkpoints int
	Size        int64
	Root        [32]byte
	Cosigners   []Cosigner // given witnesses that cosigned line 2 (VerifyWitnessed)
}

// Error is the first check a bundle fails; Seq is the event at fault, 0
// when the failure is about no one event.
type Error struct {
	Seq    int64
	Reason string
}

func (e *Error) Error() string {
	if e.Seq == 0 {
		return "bundle: " + e.Reason
	}
	return fmt.Sprintf("bundle: seq %d: %s", e.Seq, e.Reason)
}

// Verify checks the bundle read from r by AUDIT-FORMAT.md §7. trustedKey,
// when not empty, is the firm's verifier key obtained out of band, which
// the header must name.
func Verify(r io.Reader, trustedKey string) (*Result, error) {
	v := &verifier{trusted: trustedKey, br: bufioReader(r)}
	return v.result()
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func (v *verifier) result() (*Result, error) {
	if err := v.run(); err != nil {
		return nil, err
	}
	return &Result{Tenant: v.tenant, Complete: v.complete, Events: v.events, Checkpoints: v.checkpoints,
		Size: v.size, Root: v.root, Cosigners: v.cosigners}, nil
}

// brk is a pending chain break: event seq does not link to leaf seq−1, and
// what follows tells which of the two was altered (§7, "Naming the event at
// fault").
type brk struct {
	seq       int64
	claimed   hash // seq's prev, decoded
	claimedOK bool
	hash      hash // seq's leaf hash
	before    tree // the tree of leaves 1 … seq−2
}

type verifier struct {
	trusted string
	br      *bufio.Reader
	line    int

	tenant, origin string
	complete       bool
	key            note.Verifier
	size           int64
	root           hash

	events      int64
	checkpoints int
	last        int64 // seq of the last event line
	lastCk      int64 // size of the last checkpoint line after line 2 (filtered)
	version     int

	t, before      tree   // leaves so far; the same without the last
	link, linkPrev string // prev the next event must have; and the one before
	pending        *brk

	wkeys     []wkey // witness keys (witness.go)
	wneed     int
	cosigners []Cosigner
}

func fail(seq int64, format string, args ...any) error {
	return &Error{Seq: seq, Reason: fmt.Sprintf(format, args...)}
}

// failAt reports a failure, unless a chain break is pending at another
// event: then the break is resolved as an alteration of the leaf before it.
func (v *verifier) failAt(seq int64, format string, args ...any) error {
	if v.pending != nil && seq != v.pending.seq {
		return v.resolve(true)
	}
	return fail(seq, format, args...)
}

func (v *verifier) resolve(earlier bool) error {
	n := v.pending.seq
	if earlier {
		return fail(n-1, "leaf %d was altered: event %d links to another leaf", n-1, n)
	}
	return fail(n, "event %d does not link to leaf %d", n, n-1)
}

func (v *verifier) run() error {
	for {
		raw, err := v.br.ReadBytes('\n')
		if err == io.EOF && len(raw) == 0 {
			return v.eof()
		}
		if err != nil && err != io.EOF {
			return err
		}
		v.line++
		final := err == io.EOF
		raw = bytes.TrimSuffix(raw, []byte("\n"))
		obj, perr := parseLine(raw)
		if perr != nil {
			if final && v.line > 2 {
				return v.eof()
			}
			return v.failAt(0, "line %d: %v", v.line, perr)
		}
		var typ string
		json.Unmarshal(obj["type"], &typ)
		switch {
		case v.line == 1:
			err = v.header(obj, typ)
		case v.line == 2:
			if typ != "checkpoint" {
				return fail(0, "line 2 is not a checkpoint")
			}
			err = v.headCheckpoint(obj)
		case typ == "event":
			err = v.event(obj)
		case typ == "checkpoint":
			err = v.checkpoint(obj)
		case typ == "end":
			if err = v.end(obj); err == nil {
				if _, rerr := v.br.Peek(1); rerr != io.EOF {
					return fail(0, "a line follows the end line")
				}
				return nil
			}
		default:
			err = v.failAt(0, "line %d has type %q", v.line, typ)
		}
		if err != nil {
			return err
		}
	}
}

// fields lists the members each line type has (§1); "?" marks optional.
var fields = map[string][]string{
	"header":     {"type", "format", "tenant", "origin", "verifier_key", "exported_at", "filter", "complete"},
	"checkpoint": {"type", "note", "?consistency"},
	"event":      {"type", "seq", "leaf", "?private", "?nonce", "?proof"},
	"end":        {"type", "events"},
}

// parseLine parses one line as a JSON object with exactly the members of
// its type.
func parseLine(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more than one JSON value")
	}
	var typ string
	if err := json.Unmarshal(obj["type"], &typ); err != nil {
		return nil, fmt.Errorf("no type")
	}
	want, ok := fields[typ]
	if !ok {
		return obj, nil // an unknown type is reported as such
	}
	known := map[string]bool{}
	for _, f := range want {
		name, optional := strings.CutPrefix(f, "?")
		known[name] = true
		if _, ok := obj[name]; !ok && !optional {
			return nil, fmt.Errorf("a %s line lacks %q", typ, name)
		}
	}
	for k := range obj {
		if !known[k] {
			return nil, fmt.Errorf("a %s line has the unknown member %q", typ, k)
		}
	}
	return obj, nil
}

var filterMembers = map[string]bool{"actor_id": true, "object_type": true, "object_id": true, "matter_id": true,
	"action": true, "outcome": true, "from": true, "to": true, "after_seq": true, "limit": true}

func (v *verifier) header(obj map[string]json.RawMessage, typ string) error {
	if typ != "header" {
		return fail(0, "line 1 is not a header")
	}
	var format, key, exported string
	var filter map[string]json.RawMessage
	for _, f := range []struct {
		name string
		dst  any
	}{{"format", &format}, {"tenant", &v.tenant}, {"origin", &v.origin}, {"verifier_key", &key},
		{"exported_at", &exported}, {"filter", &filter}, {"complete", &v.complete}} {
		if err := json.Unmarshal(obj[f.name], f.dst); err != nil {
			return fail(0, "header member %q: %v", f.name, err)
		}
	}
	if format != "casevault-audit-bundle/1" {
		return fail(0, "format %q", format)
	}
	if v.origin != originOf(v.tenant) {
		return fail(0, "origin %q is not %q", v.origin, originOf(v.tenant))
	}
	set := 0
	for k, raw := range filter {
		if !filterMembers[k] {
			return fail(0, "filter has the unknown member %q", k)
		}
		// A member that is set is a non-empty string or a non-zero number.
		if s := string(raw); s != `""` && s != "0" {
			set++
		}
	}
	if v.complete != (set == 0) {
		return fail(0, "complete is %t but the filter says otherwise", v.complete)
	}
	if v.trusted != "" && key != v.trusted {
		return fail(0, "the bundle's key %q is not the trusted key", key)
	}
	nv, err := note.NewVerifier(key)
	if err != nil {
		return fail(0, "verifier key: %v", err)
	}
	v.key = nv
	return nil
}

func originOf(tenant string) string {
	if tenant == "" {
		return "casevault/audit/service"
	}
	return "casevault/audit/" + tenant
}

// openCheckpoint checks a checkpoint line's signature and text (§4, §5).
func (v *verifier) openCheckpoint(obj map[string]json.RawMessage) (int64, hash, error) {
	var text string
	if err := json.Unmarshal(obj["note"], &text); err != nil {
		return 0, hash{}, v.failAt(0, "checkpoint on line %d has no note", v.line)
	}
	n, err := note.Open([]byte(text), note.VerifierList(v.key))
	if err != nil {
		return 0, hash{}, v.failAt(0, "checkpoint on line %d does not verify: %v", v.line, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return 0, hash{}, v.failAt(0, "checkpoint on line %d is not three lines", v.line)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	root, ok := decodeHash(lines[2])
	switch {
	case err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1]:
		return 0, hash{}, v.failAt(0, "checkpoint on line %d has a bad size", v.line)
	case !ok:
		return 0, hash{}, v.failAt(0, "checkpoint on line %d has a bad root", v.line)
	case lines[0] != v.origin:
		return 0, hash{}, v.failAt(0, "checkpoint on line %d is of log %q", v.line, lines[0])
	}
	if err := v.witnessCheck(text); err != nil {
		return 0, hash{}, err
	}
	v.checkpoints++
	return size, root, nil
}

func (v *verifier) headCheckpoint(obj map[string]json.RawMessage) error {
	size, root, err := v.openCheckpoint(obj)
	if err != nil {
		return err
	}
	v.size, v.root = size, root
	if _, ok := obj["consistency"]; ok {
		return fail(0, "the checkpoint on line 2 has a consistency proof")
	}
	if v.complete && size == 0 {
		return v.checkRoot(0, root)
	}
	return nil
}

func (v *verifier) checkpoint(obj map[string]json.RawMessage) error {
	size, root, err := v.openCheckpoint(obj)
	if err != nil {
		return err
	}
	rawC, hasC := obj["consistency"]
	if !v.complete {
		return v.filteredCheckpoint(size, root, rawC, hasC)
	}
	switch {
	case hasC:
		return v.failAt(0, "a complete bundle's checkpoint has a consistency proof")
	case size > v.size:
		return v.failAt(0, "checkpoint of size %d is beyond the bundle's %d", size, v.size)
	case size > v.last:
		return v.failAt(v.last+1, "event %d is missing", v.last+1)
	case size < v.last:
		return v.failAt(0, "checkpoint of size %d is out of place after event %d", size, v.last)
	}
	return v.checkRoot(size, root)
}

// filteredCheckpoint checks a later checkpoint line of a filtered bundle
// (§1, §6, §7 step 5): in order, and consistent with the header's.
func (v *verifier) filteredCheckpoint(size int64, root hash, rawC json.RawMessage, hasC bool) error {
	var cs []string
	if !hasC || json.Unmarshal(rawC, &cs) != nil || cs == nil {
		return fail(0, "checkpoint on line %d has no consistency proof", v.line)
	}
	switch {
	case size < 1 || size > v.size:
		return fail(0, "checkpoint of size %d is outside 1 … %d", size, v.size)
	case size <= v.lastCk:
		return fail(0, "checkpoint of size %d follows one of size %d", size, v.lastCk)
	case size < v.last:
		return fail(0, "checkpoint of size %d is out of place after event %d", size, v.last)
	}
	p := make([]hash, len(cs))
	for i, s := range cs {
		var ok bool
		if p[i], ok = decodeHash(s); !ok {
			return fail(0, "consistency proof hash %d is malformed", i)
		}
	}
	if !checkConsistency(p, size, root, v.size, v.root) {
		return fail(0, "checkpoint of size %d is not consistent with the bundle's checkpoint", size)
	}
	v.lastCk = size
	return nil
}

// checkRoot compares the root of the leaves so far with a signed root.
func (v *verifier) checkRoot(size int64, root hash) error {
	got := v.t.root()
	p := v.pending
	if p == nil {
		if got != root {
			return fail(size, "the first %d events do not hash to the signed root", size)
		}
		return nil
	}
	if got != root && p.claimedOK {
		alt := p.before.clone()
		alt.push(p.claimed)
		alt.push(p.hash)
		if alt.root() == root {
			return v.resolve(true)
		}
	}
	return v.resolve(false)
}

func (v *verifier) event(obj map[string]json.RawMessage) error {
	var seq int64
	var leafB64 string
	if json.Unmarshal(obj["seq"], &seq) != nil || json.Unmarshal(obj["leaf"], &leafB64) != nil {
		return v.failAt(0, "event on line %d has a bad seq or leaf", v.line)
	}
	if err := v.sequence(seq); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(leafB64)
	if err != nil {
		if v.pending != nil {
			return v.resolve(false)
		}
		return fail(seq, "leaf is not base64")
	}
	l, err := parseLeaf(b)
	if err != nil {
		if v.pending != nil {
			return v.resolve(false)
		}
		return fail(seq, "leaf does not decode: %v", err)
	}
	h := leafHash(b)
	if v.complete {
		if err := v.checkLink(seq, l, h); err != nil {
			return err
		}
	}
	switch {
	case l.seq != seq:
		return fail(seq, "leaf says seq %d", l.seq)
	case l.tenant != v.tenant:
		return fail(seq, "leaf is of firm %q", l.tenant)
	case l.v < v.version:
		return fail(seq, "version %d after version %d", l.v, v.version)
	}
	v.version = l.v
	if err := v.private(seq, l, obj); err != nil {
		return err
	}
	if !v.complete && seq <= v.lastCk {
		return fail(seq, "event %d comes after the checkpoint of size %d", seq, v.lastCk)
	}
	v.last = seq
	v.events++
	if !v.complete {
		return v.proof(seq, h, obj)
	}
	v.before = v.t.clone()
	v.t.push(h)
	v.linkPrev, v.link = v.link, base64.StdEncoding.EncodeToString(h[:])
	if seq == v.size {
		return v.checkRoot(seq, v.root)
	}
	return nil
}

func (v *verifier) sequence(seq int64) error {
	if v.complete {
		switch want := v.last + 1; {
		case seq == want:
		case v.pending != nil:
			return v.resolve(false)
		case seq == v.last:
			return fail(seq, "event %d appears twice", seq)
		case seq < v.last:
			return fail(seq, "event %d is out of order", seq)
		case want > v.size:
			return fail(seq, "event %d is beyond the tree size", seq)
		default:
			return fail(want, "event %d is missing", want)
		}
	} else if seq == v.last {
		return fail(seq, "event %d appears twice", seq)
	} else if seq < v.last {
		return fail(seq, "event %d is out of order", seq)
	}
	if seq < 1 || seq > v.size {
		return v.failAt(seq, "event %d is beyond the tree size", seq)
	}
	return nil
}

// checkLink checks prev against the leaf before (complete bundles).
func (v *verifier) checkLink(seq int64, l *leaf, h hash) error {
	if seq == 1 {
		if l.prev != "" {
			return fail(1, "event 1 has a prev")
		}
		return nil
	}
	switch {
	case l.prev == v.link && v.pending != nil:
		return v.resolve(true)
	case l.prev == v.link:
		return nil
	case v.pending != nil:
		return v.resolve(false)
	case l.prev == v.linkPrev:
		return fail(seq-1, "event %d was inserted: event %d links to the leaf before it", seq-1, seq)
	}
	p := &brk{seq: seq, hash: h, before: v.before.clone()}
	p.claimed, p.claimedOK = decodeHash(l.prev)
	v.pending = p
	return nil
}

func (v *verifier) private(seq int64, l *leaf, obj map[string]json.RawMessage) error {
	rawP, hasP := obj["private"]
	rawN, hasN := obj["nonce"]
	if !hasP && !hasN {
		return nil
	}
	var private, nonceB64 string
	if !hasP || !hasN || json.Unmarshal(rawP, &private) != nil || json.Unmarshal(rawN, &nonceB64) != nil {
		return fail(seq, "private and nonce do not come together")
	}
	nonce, err := base64.StdEncoding.DecodeString(nonceB64)
	switch {
	case err != nil || len(nonce) != 32:
		return fail(seq, "nonce is not 32 bytes")
	case l.commit == "":
		return fail(seq, "the leaf commits to no private part")
	case commitTo(nonce, private) != l.commit:
		return fail(seq, "private part does not match the commitment")
	}
	return nil
}

func (v *verifier) proof(seq int64, h hash, obj map[string]json.RawMessage) error {
	var ps []string
	if raw, ok := obj["proof"]; !ok || json.Unmarshal(raw, &ps) != nil || ps == nil {
		return fail(seq, "no inclusion proof")
	}
	p := make([]hash, len(ps))
	for i, s := range ps {
		var ok bool
		if p[i], ok = decodeHash(s); !ok {
			return fail(seq, "proof hash %d is malformed", i)
		}
	}
	if r, ok := runProof(p, 0, v.size, seq-1, h); !ok || r != v.root {
		return fail(seq, "inclusion proof does not verify")
	}
	return nil
}

func (v *verifier) end(obj map[string]json.RawMessage) error {
	var n int64
	if json.Unmarshal(obj["events"], &n) != nil {
		return v.failAt(0, "end line has no event count")
	}
	if v.complete && v.last < v.size {
		return v.failAt(v.last+1, "event %d is missing", v.last+1)
	}
	if n != v.events {
		return v.failAt(0, "end line counts %d events, not %d", n, v.events)
	}
	if v.pending != nil {
		return v.resolve(true)
	}
	return nil
}

func (v *verifier) eof() error {
	switch {
	case v.line == 0:
		return fail(0, "empty")
	case v.line == 1:
		return fail(0, "no checkpoint")
	case v.complete && v.last < v.size:
		return v.failAt(v.last+1, "event %d is missing: cut short", v.last+1)
	}
	return v.failAt(0, "no end line: cut short")
}
