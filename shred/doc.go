// Package shred is the signed destruction certificate of a crypto-shredded
// firm (docs/SHRED-FORMAT.md): which firm, when, at whose request, what was
// destroyed (its keysets by Tink key id and the hash of their wrapped form,
// counts and sizes of its documents, versions, blobs on each site, rows and
// audit events, its backup's older files), the final checkpoint of its
// audit log and the SHA-256 of its final audit bundle, signed by the
// region's audit checkpoint key in the signed-note format, so that anyone
// holding the region's published verifier keys can check it offline
// (Verify), as a drill record is checked (package drill).
package shred
