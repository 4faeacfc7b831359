package refverify

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// wellFormed checks the rules of §1 "Reading a line" that a decoder into a
// map does not: one JSON value, an object, and nowhere in it a repeated
// member name or a null.
func wellFormed(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := walk(dec, '{'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

// walk reads the rest of an object or array whose opening delimiter open
// was read, down to its closing one.
func walk(dec *json.Decoder, open json.Delim) error {
	names := map[string]bool{}
	for dec.More() {
		if open == '{' {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			name := t.(string)
			if names[name] {
				return fmt.Errorf("the member %q repeats", name)
			}
			names[name] = true
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch x := t.(type) {
		case nil:
			return errors.New("a value is null")
		case json.Delim:
			if err := walk(dec, x); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token()
	return err
}

// vkeyShape is a verifier key as §5 writes it.
var vkeyShape = regexp.MustCompile(`^[^+\s]+\+[0-9a-f]{8}\+(.+)$`)

// parseKey reads a verifier key strictly (§5).
func parseKey(vkey string) (note.Verifier, error) {
	m := vkeyShape.FindStringSubmatch(vkey)
	if m == nil {
		return nil, errors.New("not name+8 lowercase hex digits+key")
	}
	if _, ok := b64(m[1]); !ok {
		return nil, errors.New("its key is not canonical base64")
	}
	return note.NewVerifier(vkey)
}

// openNote opens a signed note strictly (§5): note.Open, and then each
// signature line in canonical base64 and every line of a known key
// verifying.
func openNote(msg string, known note.Verifiers) (*note.Note, error) {
	n, err := note.Open([]byte(msg), known)
	if err != nil {
		return nil, err
	}
	sigs := strings.TrimSuffix(msg[len(n.Text)+1:], "\n")
	for _, line := range strings.Split(sigs, "\n") {
		fields := strings.Split(strings.TrimPrefix(line, "— "), " ")
		if len(fields) != 2 {
			return nil, errors.New("a signature line is malformed")
		}
		sig, ok := b64(fields[1])
		if !ok {
			return nil, errors.New("a signature is not canonical base64")
		}
		key, err := known.Verifier(fields[0], binary.BigEndian.Uint32(sig))
		if err == nil && !key.Verify([]byte(n.Text), sig[4:]) {
			return nil, errors.New("a signature line of a trusted key does not verify")
		}
	}
	return n, nil
}

// checkFilter checks a header's filter (§1 rule 8).
func checkFilter(filter map[string]json.RawMessage) error {
	for k, raw := range filter {
		switch k {
		case "after_seq", "limit":
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil || n < 1 || strconv.FormatInt(n, 10) != string(raw) {
				return fmt.Errorf("filter %q is not an integer of at least 1", k)
			}
		case "actor_id", "object_type", "object_id", "matter_id", "action", "outcome", "from", "to":
			var s string
			if json.Unmarshal(raw, &s) != nil || s == "" {
				return fmt.Errorf("filter %q is not a non-empty string", k)
			}
			if (k == "from" || k == "to") && !isTime(s) {
				return fmt.Errorf("filter %q is not a time", k)
			}
		default:
			return fmt.Errorf("filter has the unknown member %q", k)
		}
	}
	return nil
}
