package vault

import "strings"

// Limits on blob keys. S3 allows 1024 bytes; most file systems allow 255
// bytes a path element.
const (
	maxBlobKeyLen     = 1024
	maxBlobSegmentLen = 255
)

// ValidBlobKey reports whether key is a blob key: slash-separated non-empty
// segments of [a-z0-9_-], with no leading or trailing slash. The alphabet
// leaves no room for "." or "..", and so no way out of a store's directory;
// it also keeps temporary files (which start with ".") out of every key.
func ValidBlobKey(key string) bool {
	if key == "" || len(key) > maxBlobKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || len(seg) > maxBlobSegmentLen || !ValidBlobKeyChars(seg) {
			return false
		}
	}
	return true
}

// blobTenant is the firm of blob key, whose first segment is its id, for
// log lines about the blob.
func blobTenant(key string) string {
	tenant, _, _ := strings.Cut(key, "/")
	return tenant
}

// ValidBlobPrefix reports whether prefix can start a key: "" or key
// characters and slashes, with no leading slash and no empty segment.
func ValidBlobPrefix(prefix string) bool {
	return len(prefix) <= maxBlobKeyLen &&
		!strings.HasPrefix(prefix, "/") && !strings.Contains(prefix, "//") &&
		ValidBlobKeyChars(strings.ReplaceAll(prefix, "/", ""))
}

// ValidBlobKeyChars reports whether s holds only [a-z0-9_-].
func ValidBlobKeyChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// CheckBlobKey returns an invalid error unless key is a valid blob key.
func CheckBlobKey(key string) error {
	if !ValidBlobKey(key) {
		return Errorf(EINVALID, "Invalid blob key.")
	}
	return nil
}
