package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// lineMembers are the members each type of bundle line may have
// (docs/AUDIT-FORMAT.md §1); those not marked optional must be there.
// Which optional ones a line of a given bundle may carry is checked later,
// where the spec orders that check (§7).
var lineMembers = map[string]map[string]bool{ // member → required
	"header":     {"type": true, "format": true, "tenant": true, "origin": true, "verifier_key": true, "exported_at": true, "export_id": false, "filter": true, "complete": true},
	"checkpoint": {"type": true, "note": true, "consistency": false},
	"event":      {"type": true, "seq": true, "leaf": true, "private": false, "nonce": false, "proof": false},
	"end":        {"type": true, "events": true},
}

// filterMembers are the members a header's filter may have.
var filterMembers = map[string]bool{
	"actor_id": true, "object_type": true, "object_id": true, "matter_id": true, "action": true, "outcome": true,
	"from": true, "to": true, "after_seq": true, "limit": true,
}

// checkLineShape checks what encoding/json does not (§1, "Reading a line"):
// the line is one JSON object; no member name repeats, in it or in its
// filter, and each is spelled exactly (encoding/json would match "Seq" to
// seq); no value is null; a line of a known type has exactly the members
// of its type, the required ones all there. It returns the line's type ("",
// when it has none or it is not a string).
func checkLineShape(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	members, typ, err := objectMembers(dec, 0)
	if err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("more than one JSON value")
	}
	want, known := lineMembers[typ]
	if !known {
		return typ, nil // reported as an unknown type
	}
	for _, m := range members {
		if _, ok := want[m]; !ok {
			return typ, fmt.Errorf("a %s line has no member %q", typ, m)
		}
	}
	for m, required := range want {
		if required && !slices.Contains(members, m) {
			return typ, fmt.Errorf("a %s line lacks the member %q", typ, m)
		}
	}
	return typ, nil
}

// objectMembers reads one JSON object from dec (its opening brace not yet
// read) and returns its member names in order, and the value of its "type"
// member when it is a string. depth 0 is the line; depth 1 a member's value.
func objectMembers(dec *json.Decoder, depth int) ([]string, string, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, "", errors.New("not a JSON object")
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, "", errors.New("not a JSON object")
	}
	var names []string
	var typ string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, "", err
		}
		name := t.(string) // a member name is always a string token
		if slices.Contains(names, name) {
			return nil, "", fmt.Errorf("member %q appears twice", name)
		}
		names = append(names, name)
		v, err := dec.Token()
		if err != nil {
			return nil, "", err
		}
		switch v := v.(type) {
		case nil:
			return nil, "", fmt.Errorf("member %q is null", name)
		case string:
			if depth == 0 && name == "type" {
				typ = v
			}
		case json.Delim:
			if err := skipValue(dec, v, name, depth+1); err != nil {
				return nil, "", err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, "", err
	}
	return names, typ, nil
}

// skipValue checks the rest of an object or array value whose opening
// delimiter d was read: no repeated member name and no null anywhere.
func skipValue(dec *json.Decoder, d json.Delim, name string, depth int) error {
	if depth > 8 {
		return fmt.Errorf("member %q nests too deeply", name)
	}
	if d == '[' {
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			switch t := t.(type) {
			case nil:
				return fmt.Errorf("member %q holds a null", name)
			case json.Delim:
				if err := skipValue(dec, t, name, depth+1); err != nil {
					return err
				}
			}
		}
		_, err := dec.Token()
		return err
	}
	var seen []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		k := t.(string)
		if slices.Contains(seen, k) {
			return fmt.Errorf("member %q of %q appears twice", k, name)
		}
		seen = append(seen, k)
		v, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := v.(type) {
		case nil:
			return fmt.Errorf("member %q of %q is null", k, name)
		case json.Delim:
			if err := skipValue(dec, v, k, depth+1); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token()
	return err
}

// decodeBase64 decodes s when it is canonical base64 (§1): the standard
// alphabet with padding, no line breaks or other characters (which
// encoding/base64 would skip), and zero padding bits, so that one byte
// string has exactly one encoding.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("base64 has a line break")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

// validTime reports whether s is a time in TimeLayout (§2), exactly as that
// layout writes it.
func validTime(s string) bool {
	t, err := time.Parse(TimeLayout, s)
	return err == nil && t.Format(TimeLayout) == s
}

// checkFilter checks the members of a header's filter (§1): known names;
// after_seq and limit positive integers with no sign, fraction, exponent
// or leading zero; the others non-empty strings, from and to in TimeLayout.
func checkFilter(f map[string]json.RawMessage) error {
	for k, raw := range f {
		if !filterMembers[k] {
			return fmt.Errorf("filter has no member %q", k)
		}
		if k == "after_seq" || k == "limit" {
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil || n < 1 || strconv.FormatInt(n, 10) != string(raw) {
				return fmt.Errorf("filter member %q is not a positive integer", k)
			}
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s == "" {
			return fmt.Errorf("filter member %q is not a non-empty string", k)
		}
		if (k == "from" || k == "to") && !validTime(s) {
			return fmt.Errorf("filter member %q is not a time in the layout %s", k, TimeLayout)
		}
	}
	return nil
}

// parseHash parses a hash in canonical base64 (§1).
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := decodeBase64(s)
	if err != nil {
		return h, err
	}
	if len(b) != tlog.HashSize {
		return h, fmt.Errorf("hash has %d bytes, not %d", len(b), tlog.HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// NewNoteVerifier parses a note verifier key as §5 writes it: the key hash
// is 8 lowercase hex digits and the key canonical base64, which
// note.NewVerifier does not insist on; then as note.NewVerifier does (the
// algorithm, the key's length, the hash matching name and key).
func NewNoteVerifier(vkey string) (note.Verifier, error) {
	_, rest, ok1 := strings.Cut(vkey, "+")
	hash, key, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, errors.New("a verifier key is name+hash+key")
	}
	if len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, errors.New("the key hash of a verifier key is 8 lowercase hex digits")
	}
	if _, err := decodeBase64(key); err != nil {
		return nil, fmt.Errorf("the key of a verifier key is not canonical base64: %w", err)
	}
	return note.NewVerifier(vkey)
}

// checkNoteEncoding checks what note.Open leaves loose in a signed note
// (§5): every signature line's base64 is canonical, and every line of a
// key in known verifies (note.Open checks only the first line of each key
// and skips the others).
func checkNoteEncoding(msg string, known note.Verifiers) error {
	i := strings.LastIndex(msg, "\n\n")
	if i < 0 {
		return errors.New("note has no signature lines")
	}
	text, sigs := msg[:i+1], msg[i+2:]
	if !strings.HasSuffix(sigs, "\n") {
		return errors.New("note does not end in LF")
	}
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			return errors.New("note has a malformed signature line")
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			return errors.New("note has a malformed signature line")
		}
		sig, err := decodeBase64(b64)
		if err != nil {
			return fmt.Errorf("note has a signature that is not canonical base64: %w", err)
		}
		if len(sig) < 5 {
			return errors.New("note has a malformed signature line")
		}
		v, err := known.Verifier(name, binary.BigEndian.Uint32(sig))
		if err != nil {
			continue // another key's line
		}
		if !v.Verify([]byte(text), sig[4:]) {
			return fmt.Errorf("note has a signature line of key %s that does not verify", name)
		}
	}
	return nil
}

// leafMeaning makes the checks of a leaf's contents that its canonical
// encoding does not (§7 step 4): its time is in TimeLayout and not before
// the previous event line's, its outcome is one of the three, and sealed
// and commit are both empty or both set, commit the base64 of a SHA-256.
func (v *verifier) leafMeaning(seq int64, e *Entry) error {
	switch {
	case !validTime(e.Time):
		return v.fail(seq, "event %d has time %q, not in the layout %s", seq, e.Time, TimeLayout)
	case e.Time < v.lastTime:
		return v.fail(seq, "event %d has time %s, before the time %s of the event line before it", seq, e.Time, v.lastTime)
	case e.Outcome != OutcomeOK && e.Outcome != OutcomeDenied && e.Outcome != OutcomeError:
		return v.fail(seq, "event %d has outcome %q, not ok, denied or error", seq, e.Outcome)
	case (e.Sealed == "") != (e.Commit == ""):
		return v.fail(seq, "event %d has a sealed private part without a commitment, or a commitment without one", seq)
	}
	if e.Commit != "" {
		if c, err := decodeBase64(e.Commit); err != nil || len(c) != sha256.Size {
			return v.fail(seq, "event %d has a commitment that is not the base64 of %d bytes", seq, sha256.Size)
		}
		if _, err := decodeBase64(e.Sealed); err != nil {
			return v.fail(seq, "event %d has a sealed private part that is not canonical base64", seq)
		}
	}
	v.lastTime = e.Time
	return nil
}

// filterOf returns a header's filter, once checkFilter passed, as a
// bundleFilter.
func filterOf(f map[string]json.RawMessage) bundleFilter {
	var bf bundleFilter
	b, err := json.Marshal(f)
	if err == nil {
		err = json.Unmarshal(b, &bf)
	}
	if err != nil {
		panic("audit: a checked filter does not decode: " + err.Error())
	}
	return bf
}
