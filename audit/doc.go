// Package audit will hold CaseVault's append-only, verifiable audit log:
// its tables, its Merkle-tree proofs (golang.org/x/mod/sumdb/tlog), its
// signed checkpoints and its exports. See issue #5 and DESIGN.md invariants
// 4 and 5.
package audit
