// Package audit holds CaseVault's append-only, verifiable audit log: its
// tables, its Merkle-tree proofs (golang.org/x/mod/sumdb/tlog), its signed
// checkpoints and its exports. docs/AUDIT-FORMAT.md specifies the leaves
// (format versions 1 and 2) and bundles; DESIGN.md invariants 4 and 5 say
// what must hold.
package audit
