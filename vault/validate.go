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
// most MaxNameLength bytes, without control characters. what names the field
// in the error ("Document name").
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
		if !allowSlash && (r == '/' || r == '\\') {
			return "", Errorf(EINVALID, "%s must not contain slashes.", what)
		}
	}
	if !allowSlash && (s == "." || s == "..") {
		return "", Errorf(EINVALID, "%s is not a valid name.", what)
	}
	return s, nil
}

// cleanEmail lower-cases and checks a bare email address.
func cleanEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Errorf(EINVALID, "Email is required.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > MaxEmailLength || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
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
