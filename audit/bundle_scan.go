package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// Fast paths. encoding/json needs about 10µs to Decode a leaf here, which
// would make a million events take longer to verify than the one minute an
// auditor expects; nearly every leaf and event line, though, is in one
// exact shape that a scan of its bytes reads in a fraction of that. These
// parsers accept only that shape and report false for anything else, which
// the callers then hand to encoding/json: they never accept what the
// general path rejects, and they return what it would.

// jsonScan is a cursor over JSON text.
type jsonScan struct {
	b []byte
	i int
}

// lit consumes s.
func (p *jsonScan) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

func (p *jsonScan) peek(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

// canonicalString consumes a JSON string that encoding/json writes (with
// SetEscapeHTML(false)) without any escape: only bytes from 0x20 on but '"'
// and '\\', in valid UTF-8, without U+2028 and U+2029. Its value goes to
// dst unless dst is nil, and is returned without a copy.
func (p *jsonScan) canonicalString(dst *string) ([]byte, bool) {
	if !p.peek('"') {
		return nil, false
	}
	start := p.i + 1
	for i := start; i < len(p.b); {
		c := p.b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				v := p.b[start:i]
				if dst != nil {
					*dst = string(v)
				}
				p.i = i + 1
				return v, true
			case c < 0x20 || c == '\\':
				return nil, false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p.b[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return nil, false
		}
		i += size
	}
	return nil, false
}

// str is canonicalString for && chains.
func (p *jsonScan) str(dst *string) bool {
	_, ok := p.canonicalString(dst)
	return ok
}

// canonicalInt consumes an integer as strconv.FormatInt writes it.
func (p *jsonScan) canonicalInt(dst *int64) bool {
	start := p.i
	if p.peek('-') {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	s := string(p.b[start:p.i])
	n, err := strconv.ParseInt(s, 10, 64)
	if p.i == digits || err != nil || strconv.FormatInt(n, 10) != s {
		return false
	}
	*dst = n
	return true
}

// base64String consumes a JSON string of standard base64 characters.
func (p *jsonScan) base64String() ([]byte, bool) {
	if !p.peek('"') {
		return nil, false
	}
	start := p.i + 1
	i := start
	for i < len(p.b) && isBase64Char(p.b[i]) {
		i++
	}
	if i == len(p.b) || p.b[i] != '"' {
		return nil, false
	}
	p.i = i + 1
	return p.b[start:i], true
}

func isBase64Char(c byte) bool { return base64Chars[c] }

var base64Chars = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = true
	}
	return t
}()

// leafPrefixes are how the canonical leaves of each version begin.
var (
	leafPrefixV1 = `{"v":` + strconv.Itoa(FormatV1) + `,"tenant":`
	leafPrefixV2 = `{"v":` + strconv.Itoa(FormatV2) + `,"tenant":`
)

// canonicalLeaf parses leaf when it is exactly Encode's output for an entry
// whose strings need no escaping. Otherwise it reports false, and only
// Decode can tell. It sets the fields of e named by want, leaving the
// others (checked all the same) unset, which spares their allocation; V is
// always set.
func canonicalLeaf(leaf []byte, e *Entry, want leafFields) bool {
	p := jsonScan{b: leaf}
	pick := func(f leafFields, dst *string) *string {
		if want&f != 0 {
			return dst
		}
		return nil
	}
	switch {
	case p.lit(leafPrefixV2):
		e.V = FormatV2
	case p.lit(leafPrefixV1):
		e.V = FormatV1
	default:
		return false
	}
	if want&fieldDetails != 0 {
		e.Details = map[string]string{}
	}
	ok := p.str(pick(fieldTenant, &e.Tenant)) &&
		p.lit(`,"seq":`) && p.canonicalInt(&e.Seq) &&
		p.lit(`,"id":`) && p.str(pick(fieldID, &e.ID)) &&
		p.lit(`,"time":`) && p.str(pick(fieldTime|fieldRest, &e.Time)) &&
		p.lit(`,"prev":`) && p.str(pick(fieldPrev, &e.Prev)) &&
		p.lit(`,"actor_id":`) && p.str(pick(fieldRest, &e.ActorID))
	if ok && e.V == FormatV1 {
		ok = p.lit(`,"actor_email":`) && p.str(pick(fieldRest, &e.ActorEmail)) &&
			p.lit(`,"source":`) && p.str(pick(fieldRest, &e.Source)) &&
			p.lit(`,"user_agent":`) && p.str(pick(fieldRest, &e.UserAgent))
	}
	return ok &&
		p.lit(`,"action":`) && p.str(pick(fieldRest|fieldAction, &e.Action)) &&
		p.lit(`,"object_type":`) && p.str(pick(fieldRest, &e.ObjectType)) &&
		p.lit(`,"object_id":`) && p.str(pick(fieldRest, &e.ObjectID)) &&
		p.lit(`,"outcome":`) && p.str(pick(fieldTime|fieldRest, &e.Outcome)) &&
		p.lit(`,"details":{`) && p.canonicalDetails(e.Details) &&
		p.lit(`,"sealed":`) && p.str(pick(fieldSealed, &e.Sealed)) &&
		p.lit(`,"commit":`) && p.str(pick(fieldCommit, &e.Commit)) &&
		p.lit(`}`) && p.i == len(p.b)
}

// leafFields selects fields of an Entry for canonicalLeaf.
type leafFields uint

const (
	fieldTenant leafFields = 1 << iota
	fieldID
	fieldPrev
	fieldSealed
	fieldCommit
	fieldDetails
	fieldTime // Time and Outcome
	fieldAction
	fieldRest            // the others
	fieldAll  leafFields = 1<<iota - 1
)

// canonicalDetails consumes the members and closing brace of a map with
// keys in strictly increasing order, as encoding/json sorts them, and puts
// them in m unless m is nil.
func (p *jsonScan) canonicalDetails(m map[string]string) bool {
	if p.lit("}") {
		return true
	}
	var last []byte
	for first := true; ; first = false {
		k, ok := p.canonicalString(nil)
		if !ok || !first && bytes.Compare(k, last) <= 0 || !p.lit(":") {
			return false
		}
		v, ok := p.canonicalString(nil)
		if !ok {
			return false
		}
		if m != nil {
			m[string(k)] = string(v)
		}
		last = k
		if p.lit("}") {
			return true
		}
		if !p.lit(",") {
			return false
		}
	}
}

// verifyFields are the fields of a leaf that Verify reads.
const verifyFields = fieldTenant | fieldPrev | fieldCommit | fieldSealed | fieldTime | fieldAction

// decodeLeaf is Decode, faster for canonical leaves; only the fields named
// by want are sure to be set.
func decodeLeaf(leaf []byte, want leafFields) (*Entry, error) {
	e := new(Entry)
	if canonicalLeaf(leaf, e, want) {
		return e, nil
	}
	return Decode(leaf)
}

// appendEventLine appends the line of an event, as encoding/json would
// write a bundleEvent but faster: private (valid UTF-8) is the only value
// that may need escaping.
func appendEventLine(dst []byte, seq int64, leaf []byte, private, nonce []byte, proof tlog.RecordProof, withProof bool) []byte {
	dst = append(dst, `{"type":"event","seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"leaf":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, leaf)
	dst = append(dst, '"')
	if nonce != nil {
		dst = append(dst, `,"private":`...)
		dst = appendJSONString(dst, private)
		dst = append(dst, `,"nonce":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, nonce)
		dst = append(dst, '"')
	}
	if withProof {
		dst = append(dst, `,"proof":[`...)
		for i, h := range proof {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, h[:])
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	return append(dst, "}\n"...)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does with SetEscapeHTML(false).
func appendJSONString(dst, s []byte) []byte {
	simple := true
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(string(s))
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// parseEventLine reads an event line in the exact shape appendEventLine
// writes: no spaces, fields in order, leaf and nonce and proof hashes in
// plain base64, the private string with no escapes but \" and \\.
func parseEventLine(raw []byte) (*bundleLine, bool) {
	p := jsonScan{b: raw}
	var seq int64
	if !p.lit(`{"type":"event","seq":`) || !p.canonicalInt(&seq) || !p.lit(`,"leaf":`) {
		return nil, false
	}
	leaf, ok := p.base64String()
	if !ok {
		return nil, false
	}
	l := &bundleLine{Type: "event", Seq: &seq}
	s := string(leaf)
	l.Leaf = &s
	if p.lit(`,"private":`) {
		private, ok := p.simpleEscapedString()
		if !ok || !p.lit(`,"nonce":`) {
			return nil, false
		}
		nonce, ok := p.base64String()
		if !ok {
			return nil, false
		}
		n := string(nonce)
		l.Private, l.Nonce = &private, &n
	}
	if p.lit(`,"proof":[`) {
		proof := []string{}
		for !p.lit("]") {
			if len(proof) > 0 && !p.lit(",") {
				return nil, false
			}
			h, ok := p.base64String()
			if !ok {
				return nil, false
			}
			proof = append(proof, string(h))
		}
		l.Proof = &proof
	}
	return l, p.lit("}") && p.i == len(p.b)
}

// simpleEscapedString consumes a JSON string whose only escapes are \" and
// \\, in valid UTF-8 without control characters, and returns its value.
func (p *jsonScan) simpleEscapedString() (string, bool) {
	if !p.peek('"') {
		return "", false
	}
	var out []byte
	for i := p.i + 1; i < len(p.b); {
		c := p.b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", false
			}
			p.i = i + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 == len(p.b) || p.b[i+1] != '"' && p.b[i+1] != '\\' {
				return "", false
			}
			out = append(out, p.b[i+1])
			i += 2
		default:
			out = append(out, c)
			i++
		}
	}
	return "", false
}
