package audit

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"filippo.io/torchwood"
)

// Cosigner is a witness that cosigned the header's checkpoint of a bundle
// that verified.
type Cosigner struct {
	Name string    // the witness key's name
	Key  string    // its verifier key, as given
	Time time.Time // when it cosigned, from its cosignature
}

// witnessKeys are the witness keys of VerifyOptions, parsed.
type witnessKeys struct {
	byID map[string]*witnessKey // "name+hash" → key
	k    int                    // cosigners the header's checkpoint needs
}

type witnessKey struct {
	vkey string
	v    *torchwood.CosignatureVerifier
}

// parseWitnessKeys checks VerifyOptions.Witnesses and MinWitnesses.
func parseWitnessKeys(opts VerifyOptions) (*witnessKeys, error) {
	if len(opts.Witnesses) == 0 {
		if opts.MinWitnesses > 0 {
			return nil, fmt.Errorf("%d witnesses required but no witness key given", opts.MinWitnesses)
		}
		return nil, nil
	}
	wk := &witnessKeys{byID: map[string]*witnessKey{}, k: opts.MinWitnesses}
	for _, s := range opts.Witnesses {
		v, err := ParseCosignatureKey(s)
		if err != nil {
			return nil, fmt.Errorf("witness key %q: %w", s, err)
		}
		id := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
		if _, dup := wk.byID[id]; dup {
			return nil, fmt.Errorf("witness key %q is given twice", s)
		}
		wk.byID[id] = &witnessKey{vkey: s, v: v}
	}
	switch {
	case wk.k == 0:
		wk.k = len(wk.byID)
	case wk.k < 0 || wk.k > len(wk.byID):
		return nil, fmt.Errorf("%d witnesses required of the %d witness keys given", wk.k, len(wk.byID))
	}
	return wk, nil
}

// cosigners checks every signature line of a given witness key in a
// checkpoint note (docs/AUDIT-FORMAT.md §7, "Witnesses") and returns the
// witnesses whose cosignatures verified, by name. The note's own signature
// has been verified, so its text and lines are well formed.
func (wk *witnessKeys) cosigners(note string) ([]Cosigner, error) {
	i := strings.LastIndex(note, "\n\n")
	if i < 0 {
		return nil, fmt.Errorf("the note has no signature lines")
	}
	text, sigs := note[:i+1], note[i+2:]
	seen := map[string]Cosigner{}
	for line := range strings.SplitSeq(strings.TrimSuffix(sigs, "\n"), "\n") {
		name, b64, _ := strings.Cut(strings.TrimPrefix(line, "— "), " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 4 {
			continue
		}
		id := fmt.Sprintf("%s+%08x", name, binary.BigEndian.Uint32(sig))
		k, ok := wk.byID[id]
		if !ok {
			continue
		}
		if !k.v.Verify([]byte(text), sig[4:]) {
			return nil, fmt.Errorf("the cosignature of witness %s does not verify", name)
		}
		c, err := ParseCosignatureLine(line)
		if err != nil {
			return nil, fmt.Errorf("the cosignature of witness %s: %v", name, err)
		}
		if _, dup := seen[id]; !dup {
			seen[id] = Cosigner{Name: name, Key: k.vkey, Time: c.Time}
		}
	}
	out := make([]Cosigner, 0, len(seen))
	for _, c := range seen {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// witnessed checks the witness cosignatures of the checkpoint on the
// current line; for the header's (head), that at least k witnesses cosigned
// it.
func (v *verifier) witnessed(note string, head bool) error {
	if v.witnesses == nil {
		return nil
	}
	cs, err := v.witnesses.cosigners(note)
	if err != nil {
		return v.failAt(0, "checkpoint on line %d: %v", v.line, err)
	}
	if !head {
		return nil
	}
	if len(cs) < v.witnesses.k {
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.Name
		}
		return v.fail(0, "the bundle's checkpoint is cosigned by %d of the required %d witnesses (%s)", len(cs), v.witnesses.k, orNone(names))
	}
	v.cosigners = cs
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
