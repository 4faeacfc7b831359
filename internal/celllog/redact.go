package celllog

import (
	"bytes"
)

// Placeholder replaces every firm id, email and firm-owned field value in
// the service stream.
const Placeholder = "redacted"

// field is one top-level member of a JSON log line: key and the span of its
// value in the line.
type field struct {
	key        string
	start, end int // value span, p[start:end]
}

// scanFields returns the top-level members of the JSON object in line (one
// zerolog line, its newline trimmed), or ok false when line is not one flat
// scan of an object. Nested objects and arrays are skipped, not parsed.
func scanFields(line []byte) (fields []field, ok bool) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return nil, false
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return nil, skipSpace(line, i+1) == len(line)
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return nil, false
		}
		kend := skipString(line, i)
		if kend < 0 {
			return nil, false
		}
		key := string(line[i+1 : kend-1])
		i = skipSpace(line, kend)
		if i >= len(line) || line[i] != ':' {
			return nil, false
		}
		i = skipSpace(line, i+1)
		vend := skipValue(line, i)
		if vend < 0 {
			return nil, false
		}
		fields = append(fields, field{key: key, start: i, end: vend})
		i = skipSpace(line, vend)
		if i >= len(line) {
			return nil, false
		}
		switch line[i] {
		case ',':
			i = skipSpace(line, i+1)
		case '}':
			return fields, skipSpace(line, i+1) == len(line)
		default:
			return nil, false
		}
	}
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string that starts at p[i]
// (a quote), or -1.
func skipString(p []byte, i int) int {
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value at p[i], or -1.
func skipValue(p []byte, i int) int {
	if i >= len(p) {
		return -1
	}
	switch p[i] {
	case '"':
		return skipString(p, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(p); j++ {
			switch p[j] {
			case '"':
				end := skipString(p, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(p) && p[j] != ',' && p[j] != '}' && p[j] != ' ' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// stringValue is the value of f when it is a JSON string without escapes
// (as ids are), else "".
func stringValue(line []byte, f field) string {
	v := line[f.start:f.end]
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return ""
	}
	return string(v[1 : len(v)-1])
}

// serviceKeys are the members a line about a firm keeps in the service
// stream: how the service behaved (level, time, component, message, the
// request's random id, method, route template, status, sizes, durations,
// error codes, counts, witness and sink states), never what the firm or its
// people said, named or did. Every other member's value (errors included:
// their text may quote firm data) is replaced by Placeholder; the cell file
// has the line whole.
var serviceKeys = map[string]bool{
	"level": true, "time": true, "component": true, "message": true, "caller": true,
	"request_id": true, "method": true, "route": true, "status": true, "bytes_in": true, "bytes_out": true,
	"duration_ms": true, "error_code": true, "code": true, "aborted": true, "page": true, "check": true,
	"action": true, "object_type": true, "role": true, "disabled": true, "sessions_revoked": true,
	"accounts": true, "kind": true, "failures": true, "retry_in": true, "witness": true, "size": true,
	"witness_size": true, "from": true, "to": true, "diverges_at": true, "region": true, "fields": true,
	"recorded": true, "removed": true, "deleted": true, "batch": true,
}

// firmKey reports whether the value of key is replaced in the service
// stream. On a line about a firm, that is every member not in serviceKeys;
// on any other line, ids (every "*_id" member but the request's own random
// id), emails and blob keys (which start with a firm id).
func firmKey(key string, firmLine bool) bool {
	if firmLine {
		return !serviceKeys[key]
	}
	switch {
	case key == "request_id":
		return false
	case len(key) > 3 && key[len(key)-3:] == "_id",
		key == "email", len(key) > 6 && key[len(key)-6:] == "_email",
		key == "blob_key", key == "tenant", key == "user":
		return true
	}
	return false
}

var (
	idKeySuffix  = []byte(`_id"`)
	requestIDKey = []byte(`"request_id"`)
	emailKey     = []byte(`email"`)
	blobKeyKey   = []byte(`blob_key"`)
	tenantKey    = []byte(`"tenant"`)
	userKey      = []byte(`"user"`)
	mailChars    = []byte("._%+-'!#$&*=?^`{|}~")
)

// mayHoldFirmData is the cheap test of the fast path: a line without any of
// these passes to the service stream unchanged.
func mayHoldFirmData(p []byte) bool {
	return hasIDKey(p) || bytes.IndexByte(p, '@') >= 0 ||
		bytes.Contains(p, emailKey) || bytes.Contains(p, blobKeyKey) ||
		bytes.Contains(p, tenantKey) || bytes.Contains(p, userKey) || nextID(p, 0) >= 0
}

// hasIDKey reports whether p has a "*_id" key other than "request_id".
func hasIDKey(p []byte) bool {
	for i := 0; ; {
		j := bytes.Index(p[i:], idKeySuffix)
		if j < 0 {
			return false
		}
		i += j
		if start := i + len(idKeySuffix) - len(requestIDKey); start < 0 || !bytes.Equal(p[start:i+len(idKeySuffix)], requestIDKey) {
			return true
		}
		i += len(idKeySuffix)
	}
}

// idLen is the length of the random part of a vault id (vault.NewID: 26
// lower-case base32 characters).
const idLen = 26

func isBase32(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7') }
func isLower(c byte) bool  { return c >= 'a' && c <= 'z' }
func isIDChar(c byte) bool { return isLower(c) || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') }
func isMailByte(c byte) bool {
	return isIDChar(c) || c >= 0x80 || bytes.IndexByte(mailChars, c) >= 0
}

// nextID returns the index of the '_' of the first id-shaped substring at
// or after from ("doc_" and 26 base32 characters: a prefix of two
// lower-case letters or more, the random part not running on), or -1.
func nextID(p []byte, from int) int {
	for i := from; i < len(p); i++ {
		j := bytes.IndexByte(p[i:], '_')
		if j < 0 {
			return -1
		}
		i += j
		if idAt(p, i) {
			return i
		}
	}
	return -1
}

// idAt reports whether p[i] is the '_' of an id-shaped substring.
func idAt(p []byte, i int) bool {
	if i+1+idLen > len(p) || (i+1+idLen < len(p) && isIDChar(p[i+1+idLen])) {
		return false
	}
	for _, c := range p[i+1 : i+1+idLen] {
		if !isBase32(c) {
			return false
		}
	}
	// Any prefix of two lower-case letters or more: the service stream
	// would rather lose a word than keep an id.
	return i >= 2 && isLower(p[i-1]) && isLower(p[i-2])
}

// scrub appends p to dst with every id-shaped substring's random part and
// every email-shaped substring replaced by Placeholder ("doc_redacted",
// "redacted").
func scrub(dst, p []byte) []byte {
	for len(p) > 0 {
		id, at := nextID(p, 0), bytes.IndexByte(p, '@')
		switch {
		case id < 0 && at < 0:
			return append(dst, p...)
		case at < 0 || (id >= 0 && id < at):
			dst = append(dst, p[:id+1]...)
			dst = append(dst, Placeholder...)
			p = p[id+1+idLen:]
		default:
			l := at
			for l > 0 && isMailByte(p[l-1]) {
				l--
			}
			r := at + 1
			for r < len(p) && (isIDChar(p[r]) || p[r] == '.' || p[r] == '-' || p[r] >= 0x80) {
				r++
			}
			if l == at || r == at+1 || bytes.IndexByte(p[at+1:r], '.') < 0 {
				dst = append(dst, p[:at+1]...)
				p = p[at+1:]
				continue
			}
			dst = append(dst, p[:l]...)
			dst = append(dst, Placeholder...)
			p = p[r:]
		}
	}
	return dst
}

// redact appends to dst the service copy of line (one JSON object, newline
// trimmed): the value of every firm key replaced by Placeholder, then every
// id- and email-shaped substring scrubbed, then a "cell" member naming
// region when it is not "". A line that is not a JSON object is only
// scrubbed.
func redact(dst, line []byte, fields []field, firmLine bool, region string) []byte {
	if fields == nil && !(len(line) > 0 && line[0] == '{') {
		return scrub(dst, line)
	}
	var buf []byte
	last := 0
	for _, f := range fields {
		if !firmKey(f.key, firmLine) {
			continue
		}
		buf = append(buf, line[last:f.start]...)
		buf = append(buf, '"')
		buf = append(buf, Placeholder...)
		buf = append(buf, '"')
		last = f.end
	}
	buf = append(buf, line[last:]...)
	if region != "" {
		if end := bytes.LastIndexByte(buf, '}'); end > 0 {
			sep := ","
			if len(fields) == 0 {
				sep = ""
			}
			cell := append([]byte(sep+`"cell":`), quote(region)...)
			buf = append(buf[:end], append(cell, buf[end:]...)...)
		}
	}
	return scrub(dst, buf)
}

// quote is region as a JSON string; region names are plain lower-case
// words (config validates them), anything else is dropped.
func quote(region string) []byte {
	b := []byte{'"'}
	for i := 0; i < len(region); i++ {
		if c := region[i]; isIDChar(c) || c == '-' || c == '_' {
			b = append(b, c)
		}
	}
	return append(b, '"')
}
