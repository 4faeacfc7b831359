package refverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// leaf is what the checks need of a parsed leaf (AUDIT-FORMAT.md §2).
type leaf struct {
	v       int
	tenant  string
	seq     int64
	prev    string
	time    string
	outcome string
	sealed  string
	commit  string
	action  string
	details map[string]string // details old_key names the key an audit.key_rotated event retires (§5)
}

// The members of a leaf of each version, in order, with their JSON types:
// 'n' number, 's' string, 'o' the details object.
var members = map[int][]struct {
	name string
	kind byte
}{
	1: {{"v", 'n'}, {"tenant", 's'}, {"seq", 'n'}, {"id", 's'}, {"time", 's'}, {"prev", 's'}, {"actor_id", 's'},
		{"actor_email", 's'}, {"source", 's'}, {"user_agent", 's'}, {"action", 's'}, {"object_type", 's'},
		{"object_id", 's'}, {"outcome", 's'}, {"details", 'o'}, {"sealed", 's'}, {"commit", 's'}},
	2: {{"v", 'n'}, {"tenant", 's'}, {"seq", 'n'}, {"id", 's'}, {"time", 's'}, {"prev", 's'}, {"actor_id", 's'},
		{"action", 's'}, {"object_type", 's'}, {"object_id", 's'}, {"outcome", 's'}, {"details", 'o'},
		{"sealed", 's'}, {"commit", 's'}},
}

// parseLeaf parses b and checks that it is the canonical encoding of a
// version 1 or 2 leaf: it reads the members in the order they come,
// re-encodes them by the rules of §2 in the order of the leaf's version,
// and requires the same bytes.
func parseLeaf(b []byte) (*leaf, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type member struct {
		name    string
		num     json.Number
		str     string
		details [][2]string
		kind    byte
	}
	var got []member
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		m := member{name: t.(string)}
		t, err = dec.Token()
		if err != nil {
			return nil, err
		}
		switch x := t.(type) {
		case json.Number:
			m.kind, m.num = 'n', x
		case string:
			m.kind, m.str = 's', x
		case json.Delim:
			if x != '{' {
				return nil, fmt.Errorf("member %q is not a string, number or object", m.name)
			}
			m.kind = 'o'
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := dec.Token()
				if err != nil {
					return nil, err
				}
				vs, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("details member %q is not a string", k)
				}
				m.details = append(m.details, [2]string{k.(string), vs})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("member %q has a JSON type no leaf member has", m.name)
		}
		got = append(got, m)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	if len(got) == 0 || got[0].name != "v" || got[0].kind != 'n' {
		return nil, errors.New("the first member is not the version v")
	}
	v, err := strconv.Atoi(got[0].num.String())
	want, ok := members[v]
	if err != nil || !ok {
		return nil, fmt.Errorf("version %s is neither 1 nor 2", got[0].num)
	}
	if len(got) != len(want) {
		return nil, fmt.Errorf("a version %d leaf has %d members, not %d", v, len(want), len(got))
	}
	l := &leaf{v: v, details: map[string]string{}}
	var out []byte
	out = append(out, '{')
	for i, w := range want {
		m := got[i]
		if m.name != w.name || m.kind != w.kind {
			return nil, fmt.Errorf("member %d is %q, want %q of its type", i+1, m.name, w.name)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, w.name)
		out = append(out, ':')
		switch w.kind {
		case 'n':
			n, err := strconv.ParseInt(m.num.String(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("member %q is not an integer", w.name)
			}
			out = strconv.AppendInt(out, n, 10)
			if w.name == "seq" {
				l.seq = n
			}
		case 's':
			out = appendString(out, m.str)
			switch w.name {
			case "tenant":
				l.tenant = m.str
			case "prev":
				l.prev = m.str
			case "time":
				l.time = m.str
			case "outcome":
				l.outcome = m.str
			case "sealed":
				l.sealed = m.str
			case "commit":
				l.commit = m.str
			case "action":
				l.action = m.str
			}
		case 'o':
			d := slices.Clone(m.details)
			slices.SortFunc(d, func(a, b [2]string) int { return bytes.Compare([]byte(a[0]), []byte(b[0])) })
			out = append(out, '{')
			for j, kv := range d {
				if j > 0 {
					if kv[0] == d[j-1][0] {
						return nil, fmt.Errorf("details has the key %q twice", kv[0])
					}
					out = append(out, ',')
				}
				out = appendString(out, kv[0])
				out = append(out, ':')
				out = appendString(out, kv[1])
				l.details[kv[0]] = kv[1]
			}
			out = append(out, '}')
		}
	}
	out = append(out, '}')
	if !bytes.Equal(out, b) {
		return nil, errors.New("not in canonical encoding")
	}
	return l, nil
}

// appendString appends s as a JSON string, escaped exactly as §2 says.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"':
			dst = append(dst, '\\', '"')
		case r == '\\':
			dst = append(dst, '\\', '\\')
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case r == '\u2028':
			dst = append(dst, `\u2028`...)
		case r == '\u2029':
			dst = append(dst, `\u2029`...)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

// hash is a SHA-256 value.
type hash = [32]byte

// leafHash is SHA-256(0x00 ‖ leaf) (§4).
func leafHash(b []byte) hash { return sha256.Sum256(append([]byte{0}, b...)) }

// nodeHash is SHA-256(0x01 ‖ left ‖ right) (§4).
func nodeHash(l, r hash) hash {
	b := make([]byte, 0, 65)
	b = append(b, 1)
	b = append(b, l[:]...)
	return sha256.Sum256(append(b, r[:]...))
}

// tree is the stack of perfect-subtree roots of §4.
type tree struct {
	n     int64
	stack []hash
}

func (t *tree) push(h hash) {
	for i := t.n; i&1 == 1; i >>= 1 {
		top := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		h = nodeHash(top, h)
	}
	t.stack = append(t.stack, h)
	t.n++
}

func (t *tree) root() hash {
	if len(t.stack) == 0 {
		return sha256.Sum256(nil)
	}
	r := t.stack[len(t.stack)-1]
	for i := len(t.stack) - 2; i >= 0; i-- {
		r = nodeHash(t.stack[i], r)
	}
	return r
}

func (t *tree) clone() tree { return tree{n: t.n, stack: slices.Clone(t.stack)} }

// runProof is run(p, lo, hi) of §6 for leaf index m with leaf hash h.
func runProof(p []hash, lo, hi, m int64, h hash) (hash, bool) {
	if hi-lo == 1 {
		return h, len(p) == 0
	}
	if len(p) == 0 {
		return hash{}, false
	}
	k := int64(1)
	for k*2 < hi-lo {
		k *= 2
	}
	last, rest := p[len(p)-1], p[:len(p)-1]
	if m < lo+k {
		l, ok := runProof(rest, lo, lo+k, m, h)
		return nodeHash(l, last), ok
	}
	r, ok := runProof(rest, lo+k, hi, m, h)
	return nodeHash(last, r), ok
}

// decodeHash parses a base64 hash of 32 bytes.
// checkConsistency runs the consistency proof verification of RFC 9162
// §2.1.4.2 (AUDIT-FORMAT.md §6): that the tree of size m and root m1 is a
// prefix of the tree of size n and root n1.
func checkConsistency(p []hash, m int64, m1 hash, n int64, n1 hash) bool {
	if m < 1 || m > n {
		return false
	}
	if m == n {
		return len(p) == 0 && m1 == n1
	}
	if len(p) == 0 {
		return false
	}
	if m&(m-1) == 0 { // a power of 2: the old root is the first node
		p = append([]hash{m1}, p...)
	}
	fn, sn := m-1, n-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := p[0], p[0]
	for _, c := range p[1:] {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			fr, sr = nodeHash(c, fr), nodeHash(c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = nodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	return fr == m1 && sr == n1 && sn == 0
}

func decodeHash(s string) (hash, bool) {
	var h hash
	b, ok := b64(s)
	if !ok || len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// commitTo is base64(SHA-256(nonce ‖ private)) (§3).
func commitTo(nonce []byte, private string) string {
	sum := sha256.Sum256(append(slices.Clone(nonce), private...))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// b64 decodes canonical base64 (§1 rule 7): what the standard encoder
// writes for the bytes it decodes to, and nothing else — so no line breaks,
// which the standard decoder skips, and no stray padding bits.
func b64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// timeLayout is the layout of leaf times (§2).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// isTime reports whether s is a time written in the layout of §2.
func isTime(s string) bool {
	t, err := time.Parse(timeLayout, s)
	return err == nil && t.UTC().Format(timeLayout) == s
}

// says checks what a leaf says (§2, "What a leaf says"), in order; last is
// the time of the event line before it.
func (l *leaf) says(last string) error {
	switch {
	case !isTime(l.time):
		return errors.New("time is not in the layout")
	case l.time < last:
		return errors.New("time is before the previous event's")
	case l.outcome != "ok" && l.outcome != "denied" && l.outcome != "error":
		return errors.New("outcome is not ok, denied or error")
	case (l.sealed == "") != (l.commit == ""):
		return errors.New("sealed and commit do not come together")
	}
	if l.commit != "" {
		if c, ok := b64(l.commit); !ok || len(c) != 32 {
			return errors.New("commit is not base64 of 32 bytes")
		}
		if _, ok := b64(l.sealed); !ok {
			return errors.New("sealed is not base64")
		}
	}
	return nil
}
