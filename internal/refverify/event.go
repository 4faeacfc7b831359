package refverify

import (
	"encoding/base64"
	"encoding/json"
)

// Event lines and the end of a bundle (AUDIT-FORMAT.md §7 steps 4 and 6),
// and the rule for a pending chain break.

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
	if _, hasProof := obj["proof"]; hasProof && v.complete {
		return v.failAt(0, "an event line of a complete bundle has a proof")
	}
	if err := v.sequence(seq); err != nil {
		return err
	}
	b, ok := b64(leafB64)
	if !ok {
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
	if err := l.says(v.lastTime); err != nil {
		return fail(seq, "%v", err)
	}
	v.lastTime = l.time
	if err := v.private(seq, l, obj); err != nil {
		return err
	}
	if err := v.retire(seq, l); err != nil {
		return err
	}
	if !v.complete && seq <= v.lastCk {
		return fail(seq, "event %d comes after the checkpoint of size %d", seq, v.lastCk)
	}
	v.last = seq
	v.events++
	if !v.complete {
		if err := v.proof(seq, h, obj); err != nil {
			return err
		}
	} else {
		v.before = v.t.clone()
		v.t.push(h)
		v.linkPrev, v.link = v.link, base64.StdEncoding.EncodeToString(h[:])
		if seq == v.size {
			if err := v.checkRoot(seq, v.root); err != nil {
				return err
			}
		}
	}
	if seq == v.size && v.format == format2 {
		return v.exportEvent(l)
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
	nonce, ok := b64(nonceB64)
	switch {
	case !ok || len(nonce) != 32:
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
	if v.format == format2 && v.last < v.size {
		return v.failAt(v.size, "event %d, the export's own event, is missing", v.size)
	}
	if n != v.events {
		return v.failAt(0, "end line counts %d events, not %d", n, v.events)
	}
	if v.pending != nil {
		return v.resolve(true)
	}
	return v.keyRule(v.headSigners, v.size, "the checkpoint on line 2")
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
