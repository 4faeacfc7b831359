package audit

import (
	"encoding/base64"

	"golang.org/x/mod/sumdb/tlog"
)

// The checks of event lines and of the end of a bundle (docs/AUDIT-FORMAT.md
// §7 steps 4 and 6), and the chain-break rule that names the event at fault.

// checkRoot checks the tree of the events so far against a checkpoint's
// root; their number is size.
func (v *verifier) checkRoot(size int64, root tlog.Hash) error {
	got := v.tree.root()
	p := v.pending
	if p == nil {
		if got != root {
			return v.fail(size, "the first %d events do not hash to the root signed for tree size %d: event %d, or the chain of events before it, was altered", size, size, size)
		}
		return nil
	}
	// The break is at the last event. If leaf N-1 alone was altered,
	// putting back the hash N links to restores the signed root.
	if got != root && p.claimedOK {
		alt := p.before
		alt.push(p.claimed)
		alt.push(p.hash)
		if alt.root() == root {
			return v.resolve(true)
		}
	}
	return v.resolve(false)
}

func (v *verifier) event(l *bundleLine) error {
	if l.Seq == nil || l.Leaf == nil {
		return v.failAt(0, "event on line %d lacks seq or leaf", v.line)
	}
	if v.complete && l.Proof != nil {
		return v.failAt(0, "event on line %d has an inclusion proof: a complete bundle's events carry none", v.line)
	}
	seq := *l.Seq
	if err := v.sequence(seq); err != nil {
		return err
	}
	leaf, err := decodeBase64(*l.Leaf)
	if err != nil {
		if v.pending != nil {
			return v.resolve(false)
		}
		return v.fail(seq, "leaf of event %d is not base64: %v", seq, err)
	}
	e, err := decodeLeaf(leaf, verifyFields)
	if err != nil {
		if v.pending != nil {
			return v.resolve(false)
		}
		return v.fail(seq, "leaf does not decode: %v", err)
	}
	h := LeafHash(leaf)
	if v.complete {
		if err := v.checkLink(seq, e, h); err != nil {
			return err
		}
	}
	if e.Seq != seq {
		return v.fail(seq, "leaf of event %d says seq %d", seq, e.Seq)
	}
	if e.Tenant != v.tenant {
		return v.fail(seq, "leaf of event %d is of firm %q, not %q", seq, e.Tenant, v.tenant)
	}
	if e.V < v.version {
		return v.fail(seq, "event %d has format version %d after an event of version %d: a log never returns to an older version", seq, e.V, v.version)
	}
	v.version = e.V
	if err := v.leafMeaning(seq, e); err != nil {
		return err
	}
	if err := v.private(seq, e, l); err != nil {
		return err
	}
	if err := v.retires(seq, e, leaf); err != nil {
		return err
	}
	if !v.complete {
		if seq <= v.lastCk {
			return v.fail(seq, "event %d is out of place after the checkpoint of size %d", seq, v.lastCk)
		}
		if err := v.proof(seq, h, l); err != nil {
			return err
		}
		v.lastSeq = seq
		v.events++
		if seq == v.size && v.format == BundleFormatV2 {
			return v.exportEvent(leaf, l)
		}
		return nil
	}
	v.before.copyFrom(&v.tree)
	v.tree.push(h)
	if _, ok := v.keptRoots[seq]; ok {
		v.keptRoots[seq] = v.tree.root()
	}
	v.link2, v.link = v.link, base64.StdEncoding.EncodeToString(h[:])
	v.lastSeq = seq
	v.events++
	if seq == v.size {
		if err := v.checkRoot(seq, v.root); err != nil {
			return err
		}
		if v.format == BundleFormatV2 {
			return v.exportEvent(leaf, l)
		}
	}
	return nil
}

// sequence checks the sequence number of an event line against the last.
func (v *verifier) sequence(seq int64) error {
	if v.complete {
		want := v.lastSeq + 1
		switch {
		case seq == want:
		case v.pending != nil:
			// The event after a break is not its successor: the event at
			// the break is the odd one (an inserted duplicate, say).
			return v.resolve(false)
		case seq <= v.lastSeq:
			return v.repeated(seq)
		case want > v.size:
			return v.fail(seq, "event %d is beyond the bundle's tree size %d", seq, v.size)
		default:
			return v.fail(want, "event %d is missing (event %d follows event %d)", want, seq, v.lastSeq)
		}
	} else if seq <= v.lastSeq {
		return v.repeated(seq)
	}
	if seq < 1 || seq > v.size {
		return v.failAt(seq, "event %d is beyond the bundle's tree size %d", seq, v.size)
	}
	return nil
}

func (v *verifier) repeated(seq int64) error {
	if seq == v.lastSeq {
		return v.fail(seq, "event %d appears twice", seq)
	}
	return v.fail(seq, "event %d is out of order: it follows event %d", seq, v.lastSeq)
}

// private checks an event's private part, when the bundle has it, against
// the leaf's commitment.
func (v *verifier) private(seq int64, e *Entry, l *bundleLine) error {
	if l.Private == nil && l.Nonce == nil {
		return nil
	}
	if l.Private == nil || l.Nonce == nil {
		return v.fail(seq, "event %d has a private part without its nonce, or a nonce without a private part", seq)
	}
	nonce, err := decodeBase64(*l.Nonce)
	switch {
	case err != nil || len(nonce) != NonceSize:
		return v.fail(seq, "event %d has a nonce that is not %d bytes in base64", seq, NonceSize)
	case e.Commit == "":
		return v.fail(seq, "event %d has a private part but its leaf commits to none", seq)
	case CommitTo(nonce, []byte(*l.Private)) != e.Commit:
		return v.fail(seq, "private part of event %d does not match the leaf's commitment", seq)
	}
	return nil
}

// proof checks the inclusion proof of an event of a filtered bundle in the
// tree of the header's checkpoint.
func (v *verifier) proof(seq int64, h tlog.Hash, l *bundleLine) error {
	if l.Proof == nil {
		return v.fail(seq, "event %d has no inclusion proof", seq)
	}
	p := make(tlog.RecordProof, len(*l.Proof))
	for i, s := range *l.Proof {
		var err error
		if p[i], err = parseHash(s); err != nil {
			return v.fail(seq, "inclusion proof of event %d: hash %d is malformed", seq, i)
		}
	}
	if err := tlog.CheckRecord(p, v.size, v.root, seq-1, h); err != nil {
		return v.fail(seq, "inclusion proof of event %d in the tree of size %d does not verify: %v", seq, v.size, err)
	}
	return nil
}

// checkLink checks that event seq's Prev is the hash of the leaf before it. A
// mismatch is left pending until the next event or checkpoint tells whether
// this leaf or the one before it is at fault.
func (v *verifier) checkLink(seq int64, e *Entry, h tlog.Hash) error {
	if seq == 1 {
		if e.Prev != "" {
			return v.fail(1, "event 1 has a prev; the first event links to none")
		}
		return nil
	}
	if e.Prev == v.link {
		if v.pending != nil {
			// This event links on to the one at the break, so that one is
			// genuine and the leaf before it was altered.
			return v.resolve(true)
		}
		return nil
	}
	if v.pending != nil {
		return v.resolve(false)
	}
	if e.Prev == v.link2 {
		return v.fail(seq-1, "event %d was inserted: event %d links to the leaf before it", seq-1, seq)
	}
	p := &chainBreak{seq: seq, hash: h}
	if c, err := tlog.ParseHash(e.Prev); err == nil {
		p.claimed, p.claimedOK = c, true
	}
	p.before.copyFrom(&v.before)
	v.pending = p
	return nil
}

func (v *verifier) end(l *bundleLine) error {
	if v.complete && v.lastSeq < v.size {
		return v.failAt(v.lastSeq+1, "event %d is missing: the bundle ends at event %d of %d", v.lastSeq+1, v.lastSeq, v.size)
	}
	if v.format == BundleFormatV2 && v.lastSeq < v.size {
		return v.failAt(v.size, "event %d, the export's own %s event, is missing: a bundle of format /2 ends with it", v.size, ActionExport)
	}
	if *l.Events != v.events {
		return v.failAt(0, "end line counts %d events, the bundle has %d", *l.Events, v.events)
	}
	if v.pending != nil {
		return v.resolve(true)
	}
	return v.keyRule(v.headSigners, v.size, "the bundle's checkpoint on line 2")
}

func (v *verifier) eof() error {
	switch {
	case v.line == 0:
		return v.fail(0, "the bundle is empty")
	case v.line == 1:
		return v.fail(0, "the bundle has no checkpoint")
	case v.complete && v.lastSeq < v.size:
		return v.failAt(v.lastSeq+1, "event %d is missing: the bundle is cut short after event %d of %d", v.lastSeq+1, v.lastSeq, v.size)
	}
	return v.failAt(0, "the bundle has no end line: it is cut short")
}
