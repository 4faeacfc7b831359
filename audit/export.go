package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// Bundle formats, named in a bundle's header line and specified in
// docs/AUDIT-FORMAT.md. Format /2 (BundleFormat, what exports write) ends
// with the export's own audit.export event, names it in the header
// (export_id) and has a timestamp on every checkpoint; format /1
// (BundleFormatV1, WriteBundle) has neither and still verifies.
const (
	BundleFormatV1 = "casevault-audit-bundle/1"
	BundleFormatV2 = "casevault-audit-bundle/2"
	BundleFormat   = BundleFormatV2
)

// ActionExport is the action of the event an export records in the log it
// exports before anything is read; a bundle of format /2 ends with it.
const ActionExport = "audit.export"

// ExportSource is a Source that signs a fresh checkpoint of any tree size
// of a log up to its end, as an export needs of the tree that ends with its
// own event (Log.SignAt).
type ExportSource interface {
	Source
	SignAt(ctx context.Context, tenant string, size int64) (*Checkpoint, error)
}

// RawSource is implemented by a Source that can hand out every stored leaf
// of a firm verbatim, in Seq order, without decoding it. Complete bundles use
// it when the Source has it, so that a row altered until it no longer
// decodes is still exported, byte for byte, for the verifier to name.
type RawSource interface {
	// RawRecords calls fn with the sequence number and the stored leaf
	// bytes of each event of tenant, in Seq order, stopping at the first
	// error fn returns. leaf is valid only during the call.
	RawRecords(ctx context.Context, tenant string, fn func(seq int64, leaf []byte) error) error
}

// Bundle lines. Field order is the order in which they are written. Event
// lines are written by appendEventLine.
type (
	bundleHeader struct {
		Type        string       `json:"type"`
		Format      string       `json:"format"`
		Tenant      string       `json:"tenant"`
		Origin      string       `json:"origin"`
		VerifierKey string       `json:"verifier_key"`
		ExportedAt  string       `json:"exported_at"`
		ExportID    string       `json:"export_id,omitempty"` // format /2 only
		Filter      bundleFilter `json:"filter"`
		Complete    bool         `json:"complete"`
	}
	bundleCheckpoint struct {
		Type string `json:"type"`
		Note string `json:"note"`
	}
	// provedCheckpoint is a stored checkpoint in a filtered bundle, with
	// the consistency proof from its tree to the header's.
	provedCheckpoint struct {
		Type        string   `json:"type"`
		Note        string   `json:"note"`
		Consistency []string `json:"consistency"`
	}
	bundleEnd struct {
		Type   string `json:"type"`
		Events int64  `json:"events"`
	}
)

// bundleFilter is a Filter as a bundle header states it.
type bundleFilter struct {
	ActorID    string `json:"actor_id,omitempty"`
	ObjectType string `json:"object_type,omitempty"`
	ObjectID   string `json:"object_id,omitempty"`
	MatterID   string `json:"matter_id,omitempty"`
	Action     string `json:"action,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
	From       string `json:"from,omitempty"` // TimeLayout
	To         string `json:"to,omitempty"`   // TimeLayout
	AfterSeq   int64  `json:"after_seq,omitempty"`
	Limit      int    `json:"limit,omitempty"`
}

func toBundleFilter(f Filter) bundleFilter {
	bf := bundleFilter{
		ActorID: f.ActorID, ObjectType: f.ObjectType, ObjectID: f.ObjectID, MatterID: f.MatterID,
		Action: f.Action, Outcome: f.Outcome, AfterSeq: f.AfterSeq, Limit: f.Limit,
	}
	if !f.From.IsZero() {
		bf.From = f.From.UTC().Format(TimeLayout)
	}
	if !f.To.IsZero() {
		bf.To = f.To.UTC().Format(TimeLayout)
	}
	return bf
}

// errExportDone stops an iteration that has read all it needs.
var errExportDone = errors.New("export done")

// WriteBundle writes tenant's events selected by f to w as a JSON Lines
// bundle of format /1 that Verify checks offline (docs/AUDIT-FORMAT.md),
// for a log with no export event of its own (WriteExportBundle writes
// what the server exports): a header, the
// checkpoint src.Checkpoint signs at the start (tree size S; the bundle
// covers events 1..S only), the events, and an end line with their count.
//
// When f is empty the bundle is complete: every event 1..S in order, each
// stored checkpoint of size at most S right after the event whose Seq is its
// size, so that a verifier recomputes every root. Otherwise it holds the
// matching events up to S, each with its inclusion proof in the tree of the
// header's checkpoint, and the stored checkpoints of size at most S in their
// place by size, each with its consistency proof to the header's tree.
//
// Leaves are written byte for byte as stored; for complete bundles they come
// from RawRecords when src is a RawSource. The private part of an event goes
// along with its commitment nonce when opener (which may be nil) opens it;
// when it cannot, as after crypto-shredding, it is left out and the event
// still verifies.
//
// WriteBundle streams: its memory does not grow with the number of events
// or checkpoints. It reads src's checkpoints while it iterates its records,
// and asks for proofs from inside the record iteration, so src must allow
// concurrent calls (audit.Log does: its reads do not share a connection).
func WriteBundle(ctx context.Context, w io.Writer, src Source, opener Opener, tenant string, f Filter, now time.Time) error {
	key, err := src.VerifierKey(ctx, tenant)
	if err != nil {
		return fmt.Errorf("export bundle: verifier key: %w", err)
	}
	ck, err := src.Checkpoint(ctx, tenant)
	if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
		// The tree cannot be signed as it stands (a row was added behind
		// the log's back, without its hashes): export up to the latest
		// checkpoint signed before, so the verifier can name the damage
		// instead of there being no export at all.
		var latest *Checkpoint
		if lerr := src.Checkpoints(ctx, tenant, math.MaxInt64, func(c *Checkpoint) error {
			latest = c
			return nil
		}); lerr == nil && latest != nil {
			ck, err = latest, nil
		}
	}
	if err != nil {
		return fmt.Errorf("export bundle: checkpoint: %w", err)
	}
	h := bundleHeader{
		Type: "header", Format: BundleFormatV1, Tenant: tenant, Origin: Origin(tenant), VerifierKey: key,
		ExportedAt: now.UTC().Format(TimeLayout), Filter: toBundleFilter(f), Complete: f.Empty(),
	}
	return writeBundle(ctx, w, src, opener, tenant, f, h, ck, nil)
}

// WriteExportBundle writes the bundle of format /2 of the export x, whose
// audit.export event (seq E = x.Seq, with export id x.ID) is in tenant's
// log already: the header names x.ID and has the event's time as
// exported_at, the checkpoint on line 2 is signed afresh (with a timestamp)
// of the tree of size E, whatever was appended after it, and the bundle
// ends with event E — in a filtered bundle too, with its proof, whatever
// the filter. Otherwise as WriteBundle. Errors: internal (event E is not
// x's export event), those of src.
func WriteExportBundle(ctx context.Context, w io.Writer, src ExportSource, opener Opener, tenant string, f Filter, x vault.AuditExport) error {
	key, err := src.VerifierKey(ctx, tenant)
	if err != nil {
		return fmt.Errorf("export bundle: verifier key: %w", err)
	}
	var last *Record
	err = src.Records(ctx, tenant, Filter{AfterSeq: x.Seq - 1, Limit: 1}, func(r *Record) error {
		if r.Seq == x.Seq {
			last = r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export bundle: export event: %w", err)
	}
	if last == nil || last.Entry.Action != ActionExport || last.Entry.Details["export_id"] != x.ID {
		return vault.Errorf(vault.EINTERNAL, "Audit event %d is not the export's own event.", x.Seq)
	}
	ck, err := src.SignAt(ctx, tenant, x.Seq)
	if vault.IsCode(err, vault.EINTERNAL) {
		// The tree cannot be computed (a stored hash is missing): a bundle
		// of format /1 up to the latest checkpoint signed before lets the
		// verifier name the damage, as WriteBundle does.
		return WriteBundle(ctx, w, src, opener, tenant, f, x.Time)
	}
	if err != nil {
		return fmt.Errorf("export bundle: checkpoint: %w", err)
	}
	h := bundleHeader{
		Type: "header", Format: BundleFormatV2, Tenant: tenant, Origin: Origin(tenant), VerifierKey: key,
		ExportedAt: last.Entry.Time, ExportID: x.ID, Filter: toBundleFilter(f), Complete: f.Empty(),
	}
	return writeBundle(ctx, w, src, opener, tenant, f, h, ck, last)
}

// writeBundle writes a bundle with header h and the header's checkpoint
// ck; last, when set, is the export's own event, which ends it.
func writeBundle(ctx context.Context, w io.Writer, src Source, opener Opener, tenant string, f Filter, h bundleHeader, ck *Checkpoint, last *Record) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return err
	}
	bx := &bundleExport{ctx: ctx, w: bw, enc: enc, src: src, opener: opener, tenant: tenant, size: ck.Size}
	if err := bx.initCosigned(); err != nil {
		return fmt.Errorf("export bundle: %w", err)
	}
	headNote, err := bx.note(ck)
	if err != nil {
		return fmt.Errorf("export bundle: %w", err)
	}
	if err := enc.Encode(bundleCheckpoint{Type: "checkpoint", Note: headNote}); err != nil {
		return err
	}
	if h.Complete {
		err = bx.complete()
	} else {
		err = bx.filtered(f, last)
	}
	if err != nil {
		return fmt.Errorf("export bundle: %w", err)
	}
	if err := enc.Encode(bundleEnd{Type: "end", Events: bx.events}); err != nil {
		return err
	}
	return bw.Flush()
}

// bundleExport is one WriteBundle in progress.
type bundleExport struct {
	ctx    context.Context
	w      *bufio.Writer
	enc    *json.Encoder // on w
	line   []byte        // scratch for event lines
	src    Source
	opener Opener
	tenant string
	size   int64 // of the header's checkpoint
	events int64 // written so far
	// cosigned is src when it stores witness cosignatures and this log
	// has some: checkpoint notes are then written with them.
	cosigned cosignatureSource
}

// initCosigned sets bx.cosigned when the log has witness cosignatures.
func (bx *bundleExport) initCosigned() error {
	cs, ok := bx.src.(cosignatureSource)
	if !ok {
		return nil
	}
	has, err := cs.hasCosignatures(bx.ctx, bx.tenant)
	if err != nil {
		return err
	}
	if has {
		bx.cosigned = cs
	}
	return nil
}

// note returns c's note as a bundle carries it: with the witness
// cosignature lines stored for it after its own signature lines
// (docs/AUDIT-FORMAT.md §5).
func (bx *bundleExport) note(c *Checkpoint) (string, error) {
	if bx.cosigned == nil {
		return string(c.Note), nil
	}
	n, err := bx.cosigned.CosignedNote(bx.ctx, c)
	if err != nil {
		return "", fmt.Errorf("cosignatures of checkpoint %d: %w", c.Size, err)
	}
	return string(n), nil
}

// complete writes every event 1..size with the stored checkpoints between
// them. Checkpoints are pulled one at a time beside the record iteration,
// rather than read into memory first: a busy firm has about as many of them
// as events.
func (bx *bundleExport) complete() error {
	var cpErr error
	next, stop := iter.Pull(bx.checkpoints(&cpErr))
	defer stop()
	cp, more := next()
	// flush writes the checkpoints of size at most upTo that are due.
	flush := func(upTo int64) error {
		for more && cp.Size <= upTo {
			n, err := bx.note(cp)
			if err != nil {
				return err
			}
			if err := bx.enc.Encode(bundleCheckpoint{Type: "checkpoint", Note: n}); err != nil {
				return err
			}
			cp, more = next()
		}
		return nil
	}
	emit := func(seq int64, leaf []byte, e *Entry) error {
		if seq > bx.size {
			return errExportDone
		}
		// A checkpoint whose event is missing goes where the event would.
		if err := flush(seq - 1); err != nil {
			return err
		}
		if err := bx.event(seq, leaf, e, nil, false); err != nil {
			return err
		}
		return flush(seq)
	}
	if err := flush(0); err != nil {
		return err
	}
	var err error
	if raw, ok := bx.src.(RawSource); ok {
		err = raw.RawRecords(bx.ctx, bx.tenant, func(seq int64, leaf []byte) error {
			return emit(seq, leaf, nil)
		})
	} else {
		err = bx.src.Records(bx.ctx, bx.tenant, Filter{}, func(r *Record) error {
			return emit(r.Seq, r.Leaf, r.Entry)
		})
	}
	if err != nil && !errors.Is(err, errExportDone) {
		return err
	}
	if err := flush(bx.size); err != nil {
		return err
	}
	stop()
	return cpErr
}

// checkpoints iterates the stored checkpoints of size at most bx.size,
// setting *errp when the Source fails.
func (bx *bundleExport) checkpoints(errp *error) iter.Seq[*Checkpoint] {
	return func(yield func(*Checkpoint) bool) {
		err := bx.src.Checkpoints(bx.ctx, bx.tenant, bx.size, func(c *Checkpoint) error {
			if !yield(c) {
				return errExportDone
			}
			return nil
		})
		if err != nil && !errors.Is(err, errExportDone) {
			*errp = fmt.Errorf("checkpoints: %w", err)
		}
	}
}

// filtered writes the events matching f up to bx.size with their proofs
// and, in their place by size, the stored checkpoints of size at most
// bx.size, each with the consistency proof from its tree to the header's.
// last, when set, is the export's own event (seq bx.size): it is written
// last, whether or not f matches it.
func (bx *bundleExport) filtered(f Filter, last *Record) error {
	var cpErr error
	next, stop := iter.Pull(bx.checkpoints(&cpErr))
	defer stop()
	cp, more := next()
	flush := func(upTo int64) error {
		for more && cp.Size <= upTo {
			p, err := bx.src.ProveTree(bx.ctx, bx.tenant, cp.Size, bx.size)
			if err != nil {
				return fmt.Errorf("prove checkpoint %d: %w", cp.Size, err)
			}
			n, err := bx.note(cp)
			if err != nil {
				return err
			}
			line := provedCheckpoint{Type: "checkpoint", Note: n, Consistency: make([]string, len(p))}
			for i, h := range p {
				line.Consistency[i] = base64.StdEncoding.EncodeToString(h[:])
			}
			if err := bx.enc.Encode(line); err != nil {
				return err
			}
			cp, more = next()
		}
		return nil
	}
	end := bx.size
	if last != nil {
		end = last.Seq - 1
	}
	emit := func(r *Record) error {
		if err := flush(r.Seq - 1); err != nil {
			return err
		}
		p, err := bx.src.Prove(bx.ctx, bx.tenant, r.Seq, bx.size)
		if err != nil {
			return fmt.Errorf("prove event %d: %w", r.Seq, err)
		}
		return bx.event(r.Seq, r.Leaf, r.Entry, p, true)
	}
	err := bx.src.Records(bx.ctx, bx.tenant, f, func(r *Record) error {
		if r.Seq > end {
			return errExportDone
		}
		return emit(r)
	})
	if err != nil && !errors.Is(err, errExportDone) {
		return err
	}
	if last != nil {
		if err := emit(last); err != nil {
			return err
		}
	}
	if err := flush(bx.size); err != nil {
		return err
	}
	stop()
	return cpErr
}

// event writes one event line. e is the decoded leaf when the caller has
// it; proofs are in filtered bundles only.
func (bx *bundleExport) event(seq int64, leaf []byte, e *Entry, proof tlog.RecordProof, withProof bool) error {
	var nonce, private []byte
	if bx.opener != nil {
		id, sealed := sealedOf(leaf, e)
		var err error
		if nonce, private, err = openPrivate(bx.ctx, bx.opener, bx.tenant, id, sealed); err != nil {
			return err
		}
		// A JSON string carries only valid UTF-8; what EncodePrivate wrote
		// always is. Anything else is left out rather than altered.
		if !utf8.Valid(private) {
			nonce, private = nil, nil
		}
	}
	bx.line = appendEventLine(bx.line[:0], seq, leaf, private, nonce, proof, withProof)
	bx.events++
	_, err := bx.w.Write(bx.line)
	return err
}

// sealedOf returns the event id and the sealed private part of a leaf,
// reading only those two fields when the leaf was not decoded already (a
// tampered leaf that is no longer canonical still has them).
func sealedOf(leaf []byte, e *Entry) (id, sealed string) {
	if e != nil {
		return e.ID, e.Sealed
	}
	var ce Entry
	if canonicalLeaf(leaf, &ce, fieldID|fieldSealed) {
		return ce.ID, ce.Sealed
	}
	var s struct {
		ID     string `json:"id"`
		Sealed string `json:"sealed"`
	}
	if json.Unmarshal(leaf, &s) != nil {
		return "", ""
	}
	return s.ID, s.Sealed
}

// openPrivate opens a sealed private part. It returns nil, nil, nil when
// there is none or it cannot be opened (keys destroyed, or the sealed text
// altered): exports then leave it out. Only a cancelled ctx is an error.
func openPrivate(ctx context.Context, opener Opener, tenant, id, sealed string) (nonce, private []byte, err error) {
	if sealed == "" || opener == nil {
		return nil, nil, nil
	}
	ct, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, nil, nil
	}
	pt, err := opener.OpenPrivate(ctx, tenant, id, ct)
	if err != nil {
		return nil, nil, ctx.Err()
	}
	nonce, private, err = SplitSealedPlaintext(pt)
	if err != nil {
		return nil, nil, nil
	}
	return nonce, private, nil
}

// readable decodes r for the readable exports (CSV, PDF) and opens its
// private part. sealed is true when r has one that cannot be opened, or
// that a wall withholds from the reader.
func readable(ctx context.Context, opener Opener, tenant string, r *Record) (e *Entry, p Private, sealed bool, err error) {
	e = r.Entry
	if e == nil {
		if e, err = Decode(r.Leaf); err != nil {
			return nil, nil, false, fmt.Errorf("event %d: %w", r.Seq, err)
		}
	}
	if e.Sealed == "" {
		return e, nil, false, nil
	}
	if w, ok := opener.(withholding); ok {
		if w.withholds(e) {
			return e, nil, true, nil
		}
		opener = w.Opener
	}
	_, private, err := openPrivate(ctx, opener, tenant, e.ID, e.Sealed)
	if err != nil {
		return nil, nil, false, err
	}
	if private == nil || json.Unmarshal(private, &p) != nil {
		return e, nil, true, nil
	}
	return e, p, false, nil
}

// sealedMark stands in readable exports for a private value that cannot be
// opened.
const sealedMark = "[sealed]"
