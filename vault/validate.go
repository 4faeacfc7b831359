package vault

import (
	"mime"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on user-supplied text.
const (
	MaxNameLength  = 255 // bytes, for document, matter and client names
	MaxEmailLength = 254
)

// cleanName trims s and checks it is a usable name: non-empty UTF-8 of at
// most MaxNameLength bytes, without control characters and without
// invisible formatting characters (see invisibleRune). what names the field
// in the error ("Document name"). Every name a person gives — documents,
// matters, clients, firms, users, tokens — passes through here.
func cleanName(what, s string, allowSlash bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Errorf(EINVALID, "%s is required.", what)
	case len(s) > MaxNameLength:
		return "", Errorf(EINVALID, "%s is longer than %d bytes.", what, MaxNameLength)
	case !utf8.ValidString(s):
		return "", Errorf(EINVALID, "%s is not valid UTF-8.", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", Errorf(EINVALID, "%s contains control characters.", what)
		}
		if bidiControl(r) {
			return "", Errorf(EINVALID, "%s contains a text-direction control (%U), which can disguise a name; remove it.", what, r)
		}
		if invisibleRune(r) {
			return "", Errorf(EINVALID, "%s contains an invisible character (%U); remove it.", what, r)
		}
		if !allowSlash && (r == '/' || r == '\\') {
			return "", Errorf(EINVALID, "%s must not contain slashes.", what)
		}
	}
	if !allowSlash && (s == "." || s == "..") {
		return "", Errorf(EINVALID, "%s is not a valid name.", what)
	}
	return s, nil
}

// bidiControl reports whether r is a Unicode bidirectional control: the
// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069, and
// the marks U+200E, U+200F and U+061C. They reorder what follows them, so
// "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
func bidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// invisibleRune reports whether r is drawn as nothing: a format character
// (category Cf: zero-width space and joiners, U+FEFF, the soft hyphen, tag
// characters, and the bidirectional controls) or another default-ignorable
// code point (Hangul fillers, the combining grapheme joiner). Two names
// that differ only by such characters look the same, and a name made only
// of them looks blank.
func invisibleRune(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// cleanEmail lower-cases and checks a bare email address.
func cleanEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Errorf(EINVALID, "Email is required.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > MaxEmailLength || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") ||
		strings.IndexFunc(s, invisibleRune) >= 0 {
		return "", Errorf(EINVALID, "Email %q is not a valid address.", s)
	}
	return s, nil
}

// cleanContentType normalises a media type, defaulting to
// application/octet-stream.
func cleanContentType(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "application/octet-stream", nil
	}
	mt, params, err := mime.ParseMediaType(s)
	if err != nil || !strings.Contains(mt, "/") || len(s) > 255 {
		return "", Errorf(EINVALID, "Content type %q is not a valid media type.", s)
	}
	return mime.FormatMediaType(mt, params), nil
}

// checkPassword enforces the password policy.
func checkPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPasswordLength:
		return Errorf(EINVALID, "Password must be at least %d characters.", MinPasswordLength)
	case len(p) > 1024:
		return Errorf(EINVALID, "Password is too long.")
	}
	return nil
}
