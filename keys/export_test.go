package keys

import (
	"io"
	"testing"

	"github.com/tink-crypto/tink-go/v2/streamingaead"
)

// UseOneMBSegments makes new document keys use the template of earlier
// versions (1 MB segments) until the returned func, or the test's end,
// restores the current one.
func UseOneMBSegments(tb testing.TB) (restore func()) {
	prev := documentTemplate
	documentTemplate = streamingaead.AES256GCMHKDF1MBKeyTemplate
	restore = func() { documentTemplate = prev }
	tb.Cleanup(restore)
	return restore
}

// ReadsAhead reports whether a reader from DecryptRange holds read-ahead
// memory, and so works several parts ahead of its reader.
func ReadsAhead(rc io.ReadCloser) bool { return rc.(*rangeReader).ahead > 0 }
