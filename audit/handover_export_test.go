package audit

// SetCopyHooks makes CopyTenant copy chunk rows per transaction and call
// after once each commits, until restore is called.
func SetCopyHooks(chunk int, after func()) (restore func()) {
	oldChunk, oldAfter := copyChunk, afterCopyChunk
	copyChunk, afterCopyChunk = chunk, after
	return func() { copyChunk, afterCopyChunk = oldChunk, oldAfter }
}
