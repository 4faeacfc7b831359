// Package residency proves where a firm's data lives. It scans files and
// blob stores for byte strings (a firm's id, its users' emails, marker
// strings) in constant memory, and builds, signs and verifies the residency
// report of a firm: a signed note (golang.org/x/mod/sumdb/note) with a JSON
// body of format "casevault-residency/1" that states the firm's region, its
// cell's stores and the count, sizes and SHA-256 of its objects there, that
// a scan of every other served cell found nothing of the firm, and the
// firm's moves between regions. docs/RESIDENCY.md specifies the format.
//
// The package knows nothing of a running server: it takes paths, blob
// stores, descriptions and a note.Signer as plain inputs.
package residency
