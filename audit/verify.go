package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// TrustedKey, when set, is the firm's note verifier key as the auditor
	// got it out of band. The bundle's own key must be exactly this one;
	// without it Verify proves only that the bundle is consistent with the
	// key it names.
	TrustedKey string

	// TrustedKeys are more keys trusted for the firm's log, as for a bundle
	// spanning a rotation of its region's key (docs/AUDIT-FORMAT.md §5):
	// with TrustedKey, the header must name one of them, and each
	// checkpoint must verify with one of them.
	TrustedKeys []string

	// Kept are checkpoints an auditor kept from earlier (ParseKept): once
	// the bundle verifies, each is checked to be a prefix of the bundle's
	// log, and VerifyResult.Kept says how each fared.
	Kept []*KeptCheckpoint

	// At and MaxAge bound the bundle's age by its timestamps, once it has
	// verified: no timestamp may be more than MaxClockSkew after At (the
	// current time when zero), and with MaxAge the newest timestamp of any
	// checkpoint line must be at most MaxAge before At — a bundle without
	// timestamps (format /1) then fails. Both zero: no time checks.
	At     time.Time
	MaxAge time.Duration

	// Witnesses are cosignature verifier keys of witnesses (§7,
	// "Witnesses"): every cosignature line of one of them must verify, and
	// the header's checkpoint must be cosigned by at least MinWitnesses
	// of them (0: all of them).
	Witnesses    []string
	MinWitnesses int
}

// VerifyResult describes a bundle that verified.
type VerifyResult struct {
	Tenant      string
	Complete    bool         // every event of the tree, not a filtered selection
	Events      int64        // event lines checked
	Checkpoints int          // checkpoint lines checked, the header's included
	TreeSize    int64        // size of the header's checkpoint
	Root        tlog.Hash    // its root hash
	Kept        []KeptResult // one per VerifyOptions.Kept, in order

	Format     string      // BundleFormatV1 or BundleFormatV2
	Export     *ExportInfo // format /2: the export's own event; nil in format /1
	Timestamps int         // checkpoint lines with the log's timestamp
	Newest     time.Time   // the newest of those timestamps; zero when none
	HeadTime   time.Time   // the timestamp of the header's checkpoint; zero when none
	Cosigners  []Cosigner  // the given witnesses that cosigned the header's checkpoint, by name
}

// VerifyError is the first check a bundle fails.
type VerifyError struct {
	Seq    int64 // the event at fault, 0 when the failure is not about one event
	Reason string
}

func (e *VerifyError) Error() string {
	if e.Seq == 0 {
		return "audit bundle: " + e.Reason
	}
	return fmt.Sprintf("audit bundle: seq %d: %s", e.Seq, e.Reason)
}

// maxBundleLine bounds one line of a bundle; leaves are at most tens of KiB.
const maxBundleLine = 4 << 20

// Verify checks a bundle written by WriteBundle, with no server and no
// database: the header; each checkpoint's signature, with one of the
// trusted keys (TrustedKey and TrustedKeys, one of which the header must
// name; without any, the header's key), and origin — and, after an
// ActionKeyRotated event, not with the key it retired only; each event's
// leaf (canonical encoding, sequence number, firm, link to the previous leaf,
// commitment of the private part when present); for complete bundles, that
// events run 1..S without gap and that the tree of the first n leaves has
// the root of every checkpoint of size n; for filtered bundles, each event's
// inclusion proof in the header's checkpoint; and the end line. The first
// failure is returned as a *VerifyError; other errors are read errors.
//
// A complete bundle is verified in constant memory: the root is computed as
// the leaves stream by, from a stack of at most 64 subtree hashes. Verify
// reads r from a goroutine, up to 1 MiB ahead of the checks; when it
// returns early, that goroutine ends once its read in progress returns.
//
// When one event was altered, removed, moved or inserted, the error names
// that event's sequence number (docs/AUDIT-FORMAT.md, "What verify reports").
func Verify(r io.Reader, opts VerifyOptions) (*VerifyResult, error) {
	trusted := opts.TrustedKeys
	if opts.TrustedKey != "" {
		trusted = append([]string{opts.TrustedKey}, trusted...)
	}
	for _, k := range trusted {
		if _, err := NewNoteVerifier(k); err != nil {
			return nil, fmt.Errorf("trusted key: %w", err)
		}
	}
	wk, err := parseWitnessKeys(opts)
	if err != nil {
		return nil, err
	}
	ra := newReadAhead(r)
	defer ra.stop()
	v := &verifier{opts: opts, trusted: trusted, br: bufio.NewReaderSize(ra, 64<<10), keptRoots: map[int64]tlog.Hash{}, retiredAt: map[string]retirement{}, witnesses: wk}
	for _, k := range opts.Kept {
		v.keptRoots[k.Size] = tlog.Hash{}
	}
	if err := v.run(); err != nil {
		return nil, err
	}
	if err := v.checkTimes(); err != nil {
		return nil, err
	}
	return &VerifyResult{
		Tenant: v.tenant, Complete: v.complete, Events: v.events, Checkpoints: v.checkpoints,
		TreeSize: v.size, Root: v.root, Kept: v.checkKept(), Cosigners: v.cosigners,
		Format: v.format, Export: v.export, Timestamps: v.timestamps, Newest: v.newest, HeadTime: v.headTime,
	}, nil
}

// bundleLine is any line of a bundle; which fields a line must have
// depends on its type.
type bundleLine struct {
	Type string `json:"type"`
	// header
	Format      *string                    `json:"format"`
	Tenant      *string                    `json:"tenant"`
	Origin      *string                    `json:"origin"`
	VerifierKey *string                    `json:"verifier_key"`
	ExportedAt  *string                    `json:"exported_at"`
	ExportID    *string                    `json:"export_id"`
	Filter      map[string]json.RawMessage `json:"filter"`
	Complete    *bool                      `json:"complete"`
	// checkpoint
	Note        *string   `json:"note"`
	Consistency *[]string `json:"consistency"` // filtered bundles' stored checkpoints
	// event
	// Base64 fields are decoded after the line parses, so that a bad one
	// is reported against its event.
	Seq     *int64    `json:"seq"`
	Leaf    *string   `json:"leaf"`
	Private *string   `json:"private"`
	Nonce   *string   `json:"nonce"`
	Proof   *[]string `json:"proof"`
	// end
	Events *int64 `json:"events"`
}

// chainBreak is an event whose Prev does not match the leaf before it. On
// its own that says only that one of the two was altered; the event after
// it, or the next checkpoint, tells which.
type chainBreak struct {
	seq       int64
	claimed   tlog.Hash // its Prev: the hash of the original leaf seq-1, if seq is genuine
	claimedOK bool
	hash      tlog.Hash // its leaf hash
	before    treeStack // the tree before leaf seq-1
}

// verifier is one Verify in progress.
type verifier struct {
	opts VerifyOptions
	br   *bufio.Reader
	line int64

	tenant   string
	complete bool
	size     int64 // the header's checkpoint
	root     tlog.Hash

	trusted []string          // TrustedKey and TrustedKeys
	key     note.Verifiers    // the trusted keys, or the header's key without any
	keyOf   map[string]string // "<name>+<hash>" → the text of the trusted key

	// Key rotation (verify_keys.go): the keys that event lines retired, with
	// the seq of the first that did, and the signers of checkpoints.
	retiredAt map[string]retirement
	// Moves: the new key of the last move (or of a rotation of it since),
	// which must sign every tree from heirFrom on; heirSeq is the move.
	heir              string
	heirFrom, heirSeq int64
	headSigners       []string // of the checkpoint on line 2
	lastSigners       []string // of the checkpoint line just opened

	// format /2
	format     string
	tsKeys     []note.Verifier // the logs' timestamp keys, derived from the note keys
	exportID   string
	exportedAt string
	filter     bundleFilter
	export     *ExportInfo // once event S checked
	timestamps int
	newest     time.Time
	headTime   time.Time

	events      int64 // event lines checked
	checkpoints int
	lastSeq     int64  // sequence number of the last event line
	lastCk      int64  // size of the last checkpoint line after the header's (filtered bundles)
	version     int    // format version of the last event line
	lastTime    string // time of the last event line's leaf

	// complete bundles
	tree, before treeStack // before: the tree without its last leaf
	link         string    // the Prev the next event must have: PrevOf(leaf lastSeq)
	link2        string    // the Prev event lastSeq had to have
	pending      *chainBreak

	// kept checkpoints: the roots of the complete bundle's trees of their
	// sizes, and the filtered bundle's proved checkpoints
	keptRoots map[int64]tlog.Hash
	proved    []provedSize

	// witness cosignatures (verify_witness.go)
	witnesses *witnessKeys
	cosigners []Cosigner
}

// provedSize is a checkpoint of a filtered bundle proved consistent with
// the header's.
type provedSize struct {
	size int64
	root tlog.Hash
}

func (v *verifier) fail(seq int64, format string, args ...any) error {
	return &VerifyError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
}

// failAt reports a failure, unless an unresolved chain break comes first:
// it is reported instead, as an alteration of the leaf before the break.
func (v *verifier) failAt(seq int64, format string, args ...any) error {
	if v.pending != nil && seq != v.pending.seq {
		return v.resolve(true)
	}
	return v.fail(seq, format, args...)
}

// resolve reports the pending chain break at N as an alteration of leaf
// N-1 (when N itself links on correctly) or of N (when it does not).
func (v *verifier) resolve(earlier bool) error {
	n := v.pending.seq
	if earlier {
		return v.fail(n-1, "event %d was altered: event %d links to a different leaf %d", n-1, n, n-1)
	}
	return v.fail(n, "event %d does not link to event %d (its prev is not the hash of leaf %d)", n, n-1, n-1)
}

func (v *verifier) run() error {
	for {
		raw, final, err := v.readLine()
		if err == io.EOF {
			return v.eof()
		}
		if err != nil {
			return err
		}
		if final {
			// Every line ends in LF, the last one included: bytes after the
			// last LF are a line cut short, not a line (§1).
			v.line--
			return v.eof()
		}
		if v.line > 2 {
			if l, ok := parseEventLine(raw); ok {
				if err := v.event(l); err != nil {
					return err
				}
				continue
			}
		}
		var l bundleLine
		_, err = checkLineShape(raw)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			err = dec.Decode(&l)
		}
		if err != nil {
			return v.failAt(0, "line %d is not a JSON object of the bundle format: %v", v.line, err)
		}
		if v.line == 1 {
			if err := v.header(&l); err != nil {
				return err
			}
			continue
		}
		if v.line == 2 {
			if l.Type != "checkpoint" {
				return v.fail(0, "line 2 is not the bundle's checkpoint")
			}
			if err := v.headCheckpoint(&l); err != nil {
				return err
			}
			continue
		}
		switch l.Type {
		case "event":
			err = v.event(&l)
		case "checkpoint":
			err = v.checkpoint(&l)
		case "end":
			err = v.end(&l)
			if err == nil {
				if _, _, err := v.readLine(); err != io.EOF {
					if err != nil {
						return err
					}
					return v.fail(0, "line %d follows the end line", v.line)
				}
				return nil
			}
		case "header":
			err = v.failAt(0, "line %d is a second header", v.line)
		default:
			err = v.failAt(0, "line %d has unknown type %q", v.line, l.Type)
		}
		if err != nil {
			return err
		}
	}
}

// readLine returns the next line without its newline; final is set when it
// was the last bytes of the input and had no newline.
func (v *verifier) readLine() (line []byte, final bool, err error) {
	line, err = v.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > maxBundleLine {
				return nil, false, v.fail(0, "line %d is longer than %d bytes", v.line+1, maxBundleLine)
			}
			line, err = v.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, false, io.EOF
		}
		v.line++
		return line, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read audit bundle: %w", err)
	}
	v.line++
	return line[:len(line)-1], false, nil
}

func (v *verifier) header(l *bundleLine) error {
	if l.Type != "header" {
		return v.fail(0, "line 1 is not a bundle header")
	}
	if *l.Format != BundleFormatV2 && *l.Format != BundleFormatV1 {
		return v.fail(0, "header format is not %q (or the older %q)", BundleFormatV2, BundleFormatV1)
	}
	v.format = *l.Format
	switch {
	case v.format == BundleFormatV2 && (l.ExportID == nil || *l.ExportID == ""):
		return v.fail(0, "header lacks export_id, which format /2 requires")
	case v.format == BundleFormatV1 && l.ExportID != nil:
		return v.fail(0, "header has export_id, which format /1 does not")
	}
	v.tenant, v.complete = *l.Tenant, *l.Complete
	if *l.Origin != Origin(v.tenant) {
		return v.fail(0, "header origin %q is not %q", *l.Origin, Origin(v.tenant))
	}
	if !validTime(*l.ExportedAt) {
		return v.fail(0, "header exported_at %q is not a time in the layout %s", *l.ExportedAt, TimeLayout)
	}
	if err := checkFilter(l.Filter); err != nil {
		return v.fail(0, "header %v", err)
	}
	if v.complete != (len(l.Filter) == 0) {
		return v.fail(0, "header says complete=%t with a filter that says otherwise", v.complete)
	}
	if v.format == BundleFormatV2 {
		v.exportID, v.exportedAt, v.filter = *l.ExportID, *l.ExportedAt, filterOf(l.Filter)
	}
	if len(v.trusted) > 0 && !slices.Contains(v.trusted, *l.VerifierKey) {
		if len(v.trusted) == 1 {
			return v.fail(0, "the bundle's verifier key %q is not the trusted key", *l.VerifierKey)
		}
		return v.fail(0, "the bundle's verifier key %q is none of the trusted keys", *l.VerifierKey)
	}
	if _, err := NewNoteVerifier(*l.VerifierKey); err != nil {
		return v.fail(0, "header verifier key is malformed: %v", err)
	}
	keys := v.trusted
	if len(keys) == 0 {
		keys = []string{*l.VerifierKey}
	}
	return v.trust(keys)
}

// openCheckpoint checks a checkpoint's signature and origin.
func (v *verifier) openCheckpoint(l *bundleLine) (size int64, root tlog.Hash, err error) {
	if l.Note == nil {
		return 0, root, v.failAt(0, "checkpoint on line %d has no note", v.line)
	}
	if err := checkNoteEncoding(*l.Note, v.key); err != nil {
		return 0, root, v.failAt(0, "checkpoint on line %d: %v", v.line, err)
	}
	n, err := note.Open([]byte(*l.Note), v.key)
	if err != nil {
		return 0, root, v.failAt(0, "checkpoint on line %d is not signed by the verifier key: %v", v.line, err)
	}
	v.lastSigners = v.signers(n)
	if len(v.lastSigners) == 0 {
		// Only a timestamp line of a trusted key verified: it vouches for
		// a time, not for the checkpoint (§5).
		return 0, root, v.failAt(0, "checkpoint on line %d is not signed by the verifier key: it has only the key's timestamp line", v.line)
	}
	origin, size, root, err := ParseCheckpointText(n.Text)
	if err != nil {
		return 0, root, v.failAt(0, "checkpoint on line %d: %v", v.line, err)
	}
	if origin != Origin(v.tenant) {
		return 0, root, v.failAt(0, "checkpoint on line %d is of log %q, not %q", v.line, origin, Origin(v.tenant))
	}
	if err := v.timestamp(n, v.line); err != nil {
		return 0, root, err
	}
	if v.line == 2 {
		v.headTime, _, _ = timestampOf(n, v.tsKeys)
	}
	if err := v.witnessed(*l.Note, v.line == 2); err != nil {
		return 0, root, err
	}
	v.checkpoints++
	return size, root, nil
}

func (v *verifier) headCheckpoint(l *bundleLine) error {
	if l.Consistency != nil {
		return v.fail(0, "the bundle's checkpoint on line 2 has a consistency proof; only a filtered bundle's later checkpoints do")
	}
	size, root, err := v.openCheckpoint(l)
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

func (v *verifier) checkpoint(l *bundleLine) error {
	switch {
	case v.complete && l.Consistency != nil:
		return v.failAt(0, "checkpoint on line %d has a consistency proof: a complete bundle's checkpoints carry none", v.line)
	case !v.complete && l.Consistency == nil:
		return v.failAt(0, "checkpoint on line %d has no consistency proof", v.line)
	}
	size, root, err := v.openCheckpoint(l)
	if err != nil {
		return err
	}
	if !v.complete {
		if err := v.provedCheckpoint(l, size, root); err != nil {
			return err
		}
		return v.keyRule(v.lastSigners, size, fmt.Sprintf("checkpoint on line %d", v.line))
	}
	switch {
	case size > v.size:
		return v.failAt(0, "checkpoint on line %d has size %d, beyond the bundle's tree size %d", v.line, size, v.size)
	case size > v.lastSeq:
		return v.failAt(v.lastSeq+1, "event %d is missing (a checkpoint of size %d follows event %d)", v.lastSeq+1, size, v.lastSeq)
	case size < v.lastSeq:
		return v.failAt(0, "checkpoint on line %d, of size %d, is out of place after event %d", v.line, size, v.lastSeq)
	}
	if err := v.checkRoot(size, root); err != nil {
		return err
	}
	return v.keyRule(v.lastSigners, size, fmt.Sprintf("checkpoint on line %d", v.line))
}
