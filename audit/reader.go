package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"time"

	"github.com/casevault/casevault/vault"
)

// Compile-time checks that Log and Reader are the vault's audit seams.
var (
	_ vault.AuditLog    = (*Log)(nil)
	_ vault.AuditReader = (*Reader)(nil)
)

// PrivateRef is the sealed-field reference of an event's private part: it
// binds the ciphertext to the event id, so it opens nowhere else.
func PrivateRef(eventID string) vault.FieldRef {
	return vault.FieldRef{Table: "audit_events", Column: "private", RowID: eventID}
}

// SealerOpener opens private parts with the firms' field keys.
type SealerOpener struct{ Sealer vault.FieldSealer }

// OpenPrivate decrypts a sealed private part.
func (o SealerOpener) OpenPrivate(ctx context.Context, tenant, eventID string, sealed []byte) (string, error) {
	return o.Sealer.OpenField(ctx, tenant, PrivateRef(eventID), sealed)
}

// withholding is an Opener for a walled reader's readable exports: it opens
// nothing of the events of the matters it withholds.
type withholding struct {
	Opener
	matters map[string]bool
}

// withholds reports whether e is about a withheld matter, or is one.
func (w withholding) withholds(e *Entry) bool {
	return w.matters[e.Details["matter_id"]] || w.matters[e.ObjectID]
}

// Reader serves a Log to the vault's audit readers: listings, exports,
// checkpoints and proofs.
type Reader struct {
	Log *Log
	// Route, when set, returns the log of tenant's cell (a Router's Log);
	// Log is then unused.
	Route  func(ctx context.Context, tenant string) (*Log, error)
	Opener Opener
	Now    func() time.Time
	// Witness, when set, is asked to have the header's checkpoint of every
	// bundle cosigned before the bundle is written (its wait is bounded).
	Witness Witnesser
}

// Events calls fn with each event of tenant matching f, its private part
// opened when the firm's keys allow.
func (r *Reader) Events(ctx context.Context, tenant string, f vault.AuditFilter, fn func(*vault.AuditRecord) error) error {
	r, err := r.routed(ctx, tenant)
	if err != nil {
		return err
	}
	return r.Log.Records(ctx, tenant, f, func(rec *Record) error {
		e := rec.Entry
		t, _ := time.Parse(TimeLayout, e.Time)
		out := &vault.AuditRecord{
			Seq: rec.Seq, ID: e.ID, Time: t, ActorID: e.ActorID, Action: e.Action, ObjectType: e.ObjectType,
			ObjectID: e.ObjectID, Outcome: e.Outcome,
		}
		var p Private
		if e.Sealed != "" {
			out.Sealed = true
			switch {
			case withholding{matters: f.Withhold}.withholds(e):
				out.Withheld = true
			default:
				if p = r.open(ctx, tenant, e); p != nil {
					out.Sealed = false
				}
			}
		}
		rv := readableOf(e, p)
		out.ActorEmail, out.Source, out.UserAgent, out.Details, out.Private = rv.ActorEmail, rv.Source, rv.UserAgent, rv.Details, rv.Names
		return fn(out)
	})
}

// open returns e's private part, or nil when it cannot be opened.
func (r *Reader) open(ctx context.Context, tenant string, e *Entry) Private {
	if r.Opener == nil {
		return nil
	}
	sealed, err := base64.StdEncoding.DecodeString(e.Sealed)
	if err != nil {
		return nil
	}
	pt, err := r.Opener.OpenPrivate(ctx, tenant, e.ID, sealed)
	if err != nil {
		return nil
	}
	nonce, p, err := SplitSealedPlaintext(pt)
	if err != nil || CommitTo(nonce, p) != e.Commit {
		return nil
	}
	var m Private
	if json.Unmarshal(p, &m) != nil || m == nil {
		return nil
	}
	return m
}

// Export writes tenant's events matching f in format: a bundle of format
// /2 ending with the export's own event x, or of format /1 when x is zero.
func (r *Reader) Export(ctx context.Context, tenant, format string, f vault.AuditFilter, x vault.AuditExport, w io.Writer) error {
	r, err := r.routed(ctx, tenant)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if r.Now != nil {
		now = r.Now().UTC()
	}
	if !x.Time.IsZero() {
		now = x.Time.UTC()
	}
	opener := r.Opener
	if len(f.Withhold) > 0 && opener != nil {
		// The readable exports withhold the private parts of the walled
		// matters' events, as listings do; bundles, which stream leaves
		// without reading their details, carry none at all.
		opener = withholding{Opener: opener, matters: f.Withhold}
	}
	switch format {
	case vault.AuditFormatJSONL:
		if len(f.Withhold) > 0 {
			opener = nil
		}
		var src ExportSource = r.Log
		if r.Witness != nil {
			src = cosignedSource{Log: r.Log, w: r.Witness}
		}
		if x.Seq > 0 {
			return WriteExportBundle(ctx, w, src, opener, tenant, f, x)
		}
		return WriteBundle(ctx, w, src, opener, tenant, f, now)
	case vault.AuditFormatCSV:
		return WriteCSV(ctx, w, r.Log, opener, tenant, f)
	case vault.AuditFormatPDF:
		rep := Report{Firm: x.Firm, Time: now}
		if x.Seq > 0 {
			// The report covers the tree that ends with its own export
			// event, as a bundle does.
			ck, err := r.Log.SignAt(ctx, tenant, x.Seq)
			if err != nil && !vault.IsCode(err, vault.EINTERNAL) {
				return err
			}
			rep.Checkpoint = ck
		}
		return WritePDF(ctx, w, r.Log, opener, tenant, f, rep)
	}
	return vault.Errorf(vault.EINVALID, "Unknown export format %q.", format)
}

// Checkpoint signs (when the tree grew) and returns tenant's latest
// checkpoint.
func (r *Reader) Checkpoint(ctx context.Context, tenant string) (*vault.AuditCheckpoint, error) {
	r, err := r.routed(ctx, tenant)
	if err != nil {
		return nil, err
	}
	cp, err := r.Log.Checkpoint(ctx, tenant)
	if err != nil {
		return nil, err
	}
	vkey, err := r.Log.VerifierKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// The note carries the witness cosignatures stored so far.
	n, err := r.Log.CosignedNote(ctx, cp)
	if err != nil {
		return nil, err
	}
	out := &vault.AuditCheckpoint{
		Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Root[:]), Note: string(n), VerifierKey: vkey,
	}
	if !cp.Time.IsZero() {
		out.SignedAt = cp.Time.UTC().Format(time.RFC3339)
	}
	return out, nil
}

// Keys returns every verifier key of tenant's region, oldest first, after
// those of the regions it moved from (Log.Keys).
func (r *Reader) Keys(ctx context.Context, tenant string) ([]vault.AuditKey, error) {
	r, err := r.routed(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return r.Log.Keys(ctx, tenant)
}

// Prove returns the inclusion proof of event seq against a fresh
// checkpoint.
func (r *Reader) Prove(ctx context.Context, tenant string, seq int64) (*vault.AuditProof, error) {
	cp, err := r.Checkpoint(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if seq > cp.Size {
		return nil, vault.Errorf(vault.ENOTFOUND, "Event not found.")
	}
	var leaf []byte
	err = r.Log.Records(ctx, tenant, Filter{AfterSeq: seq - 1, Limit: 1}, func(rec *Record) error {
		if rec.Seq == seq {
			leaf = rec.Leaf
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if leaf == nil {
		return nil, vault.Errorf(vault.ENOTFOUND, "Event not found.")
	}
	proof, err := r.Log.Prove(ctx, tenant, seq, cp.Size)
	if err != nil {
		return nil, err
	}
	out := &vault.AuditProof{Seq: seq, Leaf: base64.StdEncoding.EncodeToString(leaf), Checkpoint: *cp, Proof: []string{}}
	for _, h := range proof {
		out.Proof = append(out.Proof, base64.StdEncoding.EncodeToString(h[:]))
	}
	return out, nil
}

// routed returns r reading tenant's log: r itself, or a copy on the log
// Route names.
func (r *Reader) routed(ctx context.Context, tenant string) (*Reader, error) {
	if r.Route == nil {
		return r, nil
	}
	l, err := r.Route(ctx, tenant)
	if err != nil {
		return nil, err
	}
	c := *r
	c.Log, c.Route = l, nil
	return &c, nil
}
