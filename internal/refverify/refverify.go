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
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
	Format      string
	ExportID    string     // format /2
	Newest      int64      // Unix time of the newest timestamp; 0 when none
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
	return VerifyWith(r, Options{TrustedKey: trustedKey})
}

// VerifyKeys is Verify with several trusted keys (§5): the header must
// name one of them, and each checkpoint must verify with one of them.
func VerifyKeys(r io.Reader, trustedKeys []string) (*Result, error) {
	return VerifyWith(r, Options{TrustedKeys: trustedKeys})
}

// VerifyWith is Verify with several trusted keys, the witnesses of §7
// ("Witnesses") and the age checks of §7 step 7.
func VerifyWith(r io.Reader, o Options) (*Result, error) {
	trusted := o.TrustedKeys
	if o.TrustedKey != "" {
		trusted = append([]string{o.TrustedKey}, trusted...)
	}
	for _, k := range trusted {
		if _, err := parseKey(k); err != nil {
			return nil, fmt.Errorf("trusted key: %w", err)
		}
	}
	slices.Sort(trusted) // the same key given twice is trusted once
	trusted = slices.Compact(trusted)
	v := &verifier{trusted: trusted, br: bufio.NewReader(r), retiredAt: map[string]retired{}, wneed: o.Witnesses.K}
	for _, s := range o.Witnesses.Keys {
		k, err := parseWitnessKey(s)
		if err != nil {
			return nil, fmt.Errorf("witness key %q: %w", s, err)
		}
		v.wkeys = append(v.wkeys, k)
	}
	if v.wneed == 0 {
		v.wneed = len(v.wkeys)
	}
	if v.wneed > len(v.wkeys) || v.wneed < 0 {
		return nil, fmt.Errorf("%d witnesses required of %d keys", o.Witnesses.K, len(v.wkeys))
	}
	if err := v.run(); err != nil {
		return nil, err
	}
	if err := v.age(o); err != nil {
		return nil, err
	}
	return &Result{Tenant: v.tenant, Complete: v.complete, Events: v.events, Checkpoints: v.checkpoints,
		Size: v.size, Root: v.root, Format: v.format, ExportID: v.exportID, Newest: v.newest, Cosigners: v.cosigners}, nil
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
	trusted []string
	br      *bufio.Reader
	line    int

	tenant, origin string
	complete       bool
	keys           note.Verifiers
	size           int64
	root           hash

	keyOf map[string]string // name and key hash → the trusted key's text

	// §5, key rotation: the keys event lines retired, with the seq that
	// retired each, and who signed the checkpoint on line 2.
	retiredAt map[string]retired
	// §5, moving a firm: the key that must sign trees from heirFrom on
	// (complete bundles), named by the move at heirSeq.
	heir              string
	heirFrom, heirSeq int64
	headSigners       []string
	lastSigners       []string // of the checkpoint line just opened

	events      int64
	checkpoints int
	last        int64 // seq of the last event line
	lastCk      int64 // size of the last checkpoint line after line 2 (filtered)
	version     int
	lastTime    string // time of the last event line's leaf

	t, before      tree   // leaves so far; the same without the last
	link, linkPrev string // prev the next event must have; and the one before
	pending        *brk

	format, exportID, exported string
	filter                     map[string]json.RawMessage
	ts                         []*tsVerifier // one per trusted key
	stamped, sawExport         bool
	newest                     int64

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
		if err == io.EOF {
			// No LF at the end: not a line, the file was cut short (§1).
			return v.eof()
		}
		v.line++
		raw = bytes.TrimSuffix(raw, []byte("\n"))
		obj, perr := parseLine(raw)
		if perr != nil {
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
	"header":     {"type", "format", "tenant", "origin", "verifier_key", "exported_at", "?export_id", "filter", "complete"},
	"checkpoint": {"type", "note", "?consistency"},
	"event":      {"type", "seq", "leaf", "?private", "?nonce", "?proof"},
	"end":        {"type", "events"},
}

// parseLine parses one line as a JSON object with exactly the members of
// its type.
func parseLine(raw []byte) (map[string]json.RawMessage, error) {
	if err := wellFormed(raw); err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
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
	if format != format1 && format != format2 {
		return fail(0, "format %q", format)
	}
	v.format = format
	rawID, hasID := obj["export_id"]
	switch {
	case format == format1 && hasID:
		return fail(0, "a /1 header has export_id")
	case format == format2 && (!hasID || json.Unmarshal(rawID, &v.exportID) != nil || v.exportID == ""):
		return fail(0, "a /2 header lacks export_id")
	}
	v.exported, v.filter = exported, filter
	if v.origin != originOf(v.tenant) {
		return fail(0, "origin %q is not %q", v.origin, originOf(v.tenant))
	}
	if !isTime(exported) {
		return fail(0, "exported_at %q is not in the layout", exported)
	}
	if err := checkFilter(filter); err != nil {
		return fail(0, "%v", err)
	}
	if v.complete != (len(filter) == 0) {
		return fail(0, "complete is %t but the filter says otherwise", v.complete)
	}
	keys := v.trusted
	if len(keys) == 0 {
		keys = []string{key}
	} else if !slices.Contains(keys, key) {
		return fail(0, "the bundle's key %q is not a trusted key", key)
	}
	if _, err := parseKey(key); err != nil {
		return fail(0, "verifier key: %v", err)
	}
	var vs []note.Verifier
	v.keyOf = map[string]string{}
	for _, k := range keys {
		nv, err := note.NewVerifier(k)
		if err != nil {
			return fail(0, "trusted key %q: %v", k, err)
		}
		ts, err := newTSVerifier(k)
		if err != nil {
			return fail(0, "verifier key: %v", err)
		}
		vs = append(vs, nv, ts)
		v.ts = append(v.ts, ts)
		v.keyOf[nv.Name()+"+"+strconv.FormatUint(uint64(nv.KeyHash()), 16)] = k
	}
	v.keys = note.VerifierList(vs...)
	return nil
}

func originOf(tenant string) string {
	if tenant == "" {
		return "casevault/audit/service"
	}
	return "casevault/audit/" + tenant
}

// openCheckpoint checks a checkpoint line's signature and text (§4, §5).
// v.lastSigners are the trusted keys whose signatures verified.
func (v *verifier) openCheckpoint(obj map[string]json.RawMessage) (int64, hash, error) {
	var text string
	if err := json.Unmarshal(obj["note"], &text); err != nil {
		return 0, hash{}, v.failAt(0, "checkpoint on line %d has no note", v.line)
	}
	n, err := openNote(text, v.keys)
	if err != nil {
		return 0, hash{}, v.failAt(0, "checkpoint on line %d does not verify: %v", v.line, err)
	}
	if len(v.signers(n)) == 0 {
		// §5: a signature line of a trusted key itself; its timestamp line
		// alone does not sign the checkpoint.
		return 0, hash{}, v.failAt(0, "checkpoint on line %d is not signed by a trusted key (only a timestamp line)", v.line)
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
	if err := v.stamp(n); err != nil {
		return 0, hash{}, err
	}
	if err := v.witnessCheck(text); err != nil {
		return 0, hash{}, err
	}
	v.checkpoints++
	v.lastSigners = v.signers(n)
	return size, root, nil
}

func (v *verifier) headCheckpoint(obj map[string]json.RawMessage) error {
	if _, ok := obj["consistency"]; ok {
		return fail(0, "the checkpoint on line 2 has a consistency proof")
	}
	size, root, err := v.openCheckpoint(obj)
	if err != nil {
		return err
	}
	v.size, v.root = size, root
	v.headSigners = v.lastSigners
	if v.complete && size == 0 {
		return v.checkRoot(0, root)
	}
	return nil
}

func (v *verifier) checkpoint(obj map[string]json.RawMessage) error {
	rawC, hasC := obj["consistency"]
	if hasC == v.complete {
		return v.failAt(0, "a checkpoint line of a complete bundle has a consistency proof, or one of a filtered bundle has none")
	}
	size, root, err := v.openCheckpoint(obj)
	if err != nil {
		return err
	}
	if !v.complete {
		if err := v.filteredCheckpoint(size, root, rawC); err != nil {
			return err
		}
		return v.keyRule(v.lastSigners, size, fmt.Sprintf("checkpoint on line %d", v.line))
	}
	switch {
	case size > v.size:
		return v.failAt(0, "checkpoint of size %d is beyond the bundle's %d", size, v.size)
	case size > v.last:
		return v.failAt(v.last+1, "event %d is missing", v.last+1)
	case size < v.last:
		return v.failAt(0, "checkpoint of size %d is out of place after event %d", size, v.last)
	}
	if err := v.checkRoot(size, root); err != nil {
		return err
	}
	return v.keyRule(v.lastSigners, size, fmt.Sprintf("checkpoint on line %d", v.line))
}

// filteredCheckpoint checks a later checkpoint line of a filtered bundle
// (§1, §6, §7 step 5): in order, and consistent with the header's.
func (v *verifier) filteredCheckpoint(size int64, root hash, rawC json.RawMessage) error {
	var cs []string
	if json.Unmarshal(rawC, &cs) != nil || cs == nil {
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
