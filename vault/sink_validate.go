package vault

import (
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits of a sink's config.
const (
	maxSinkURL    = 2048
	maxSinkPrefix = 512
	maxSinkKeyID  = 128
	maxSinkSecret = 256
	maxSinkToken  = 4096
	maxSinkRegion = 64
)

// CleanSinkConfig checks a sink's config and returns it in canonical form
// (trimmed; the fields of the other kind cleared). Plain http:// is taken
// only to a loopback address; the delivery worker also refuses private and
// loopback destinations unless the operator allows them. Errors: invalid,
// with a message naming the field.
func CleanSinkConfig(c AuditSinkConfig) (AuditSinkConfig, error) {
	trim := func(p *string) { *p = strings.TrimSpace(*p) }
	for _, p := range []*string{&c.Kind, &c.Endpoint, &c.Bucket, &c.Region, &c.AccessKeyID, &c.URL} {
		trim(p)
	}
	switch c.Kind {
	case SinkS3:
		if c.URL != "" || c.Token != "" {
			return c, Errorf(EINVALID, "An s3 sink takes endpoint, bucket, prefix, region, access_key_id and secret_access_key, not url or token.")
		}
		if err := checkSinkURL("endpoint", c.Endpoint, true); err != nil {
			return c, err
		}
		c.Endpoint = strings.TrimSuffix(c.Endpoint, "/")
		if err := checkBucketName(c.Bucket); err != nil {
			return c, err
		}
		if err := checkSinkPrefix(c.Prefix); err != nil {
			return c, err
		}
		c.Prefix = strings.Trim(c.Prefix, "/")
		if len(c.Region) > maxSinkRegion || strings.Trim(c.Region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return c, Errorf(EINVALID, "region must be at most %d lowercase letters, digits and hyphens (e.g. ca-central-1).", maxSinkRegion)
		}
		if err := checkSinkSecret("access_key_id", c.AccessKeyID, maxSinkKeyID); err != nil {
			return c, err
		}
		if err := checkSinkSecret("secret_access_key", c.SecretAccessKey, maxSinkSecret); err != nil {
			return c, err
		}
	case SinkWebhook:
		if c.Endpoint != "" || c.Bucket != "" || c.Prefix != "" || c.Region != "" || c.AccessKeyID != "" || c.SecretAccessKey != "" {
			return c, Errorf(EINVALID, "A webhook sink takes url and token, not the fields of an s3 sink.")
		}
		if err := checkSinkURL("url", c.URL, false); err != nil {
			return c, err
		}
		if c.Token != "" {
			if err := checkSinkSecret("token", c.Token, maxSinkToken); err != nil {
				return c, err
			}
		}
	case "":
		return c, Errorf(EINVALID, "kind is required: s3 or webhook.")
	default:
		return c, Errorf(EINVALID, "kind must be s3 or webhook.")
	}
	return c, nil
}

// checkSinkURL checks an https:// URL (http:// only to a loopback
// address) without credentials or fragment; an endpoint has no path or
// query either.
func checkSinkURL(field, s string, endpoint bool) error {
	if s == "" {
		return Errorf(EINVALID, "%s is required.", field)
	}
	if len(s) > maxSinkURL {
		return Errorf(EINVALID, "%s is longer than %d bytes.", field, maxSinkURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Errorf(EINVALID, "%s must be an absolute https:// URL.", field)
	}
	switch {
	case u.User != nil:
		return Errorf(EINVALID, "%s must not hold credentials; give them in their own fields.", field)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return Errorf(EINVALID, "%s must not have a fragment.", field)
	case endpoint && (strings.Trim(u.Path, "/") != "" || u.RawQuery != ""):
		return Errorf(EINVALID, "%s must be https://host[:port], without a path: the bucket and prefix have their own fields.", field)
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	case u.Scheme == "http":
		return Errorf(EINVALID, "%s must use https:// (plain http:// only to a loopback address).", field)
	default:
		return Errorf(EINVALID, "%s must be an https:// URL.", field)
	}
	return nil
}

// loopbackHost reports whether host is localhost or a loopback IP literal.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkBucketName applies the S3 rules for bucket names: 3 to 63
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit, no two dots together, not an IP address.
func checkBucketName(b string) error {
	bad := func(why string) error { return Errorf(EINVALID, "bucket is not a valid S3 bucket name: %s.", why) }
	switch {
	case b == "":
		return Errorf(EINVALID, "bucket is required.")
	case len(b) < 3 || len(b) > 63:
		return bad("it must be 3 to 63 characters long")
	case strings.Trim(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "":
		return bad("only lowercase letters, digits, dots and hyphens")
	case strings.Contains(b, ".."):
		return bad("no two dots in a row")
	case strings.ContainsAny(b[:1], ".-") || strings.ContainsAny(b[len(b)-1:], ".-"):
		return bad("it must start and end with a letter or digit")
	case net.ParseIP(b) != nil:
		return bad("it must not be an IP address")
	}
	return nil
}

// checkSinkPrefix checks an object-name prefix: printable UTF-8, no "."
// or ".." segment, no backslash.
func checkSinkPrefix(p string) error {
	switch {
	case len(p) > maxSinkPrefix:
		return Errorf(EINVALID, "prefix is longer than %d bytes.", maxSinkPrefix)
	case !utf8.ValidString(p):
		return Errorf(EINVALID, "prefix is not valid UTF-8.")
	case strings.ContainsAny(p, "\\"):
		return Errorf(EINVALID, "prefix must not contain backslashes.")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || bidiControl(r) || invisibleRune(r) {
			return Errorf(EINVALID, "prefix contains a control or invisible character.")
		}
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." || (seg == "" && p != "" && strings.Trim(p, "/") != "") {
			return Errorf(EINVALID, "prefix must be segments separated by single slashes, none of them . or ..")
		}
	}
	return nil
}

// checkSinkSecret checks a credential: 1 to max printable ASCII
// characters, no spaces.
func checkSinkSecret(field, s string, max int) error {
	switch {
	case s == "":
		return Errorf(EINVALID, "%s is required.", field)
	case len(s) > max:
		return Errorf(EINVALID, "%s is longer than %d bytes.", field, max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return Errorf(EINVALID, "%s must be printable ASCII without spaces.", field)
		}
	}
	return nil
}
