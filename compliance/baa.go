// Package compliance holds the texts CaseVault ships for firms to accept:
// the business associate agreement (BAA) of the HIPAA add-on, one file per
// version under baa/ (baa/v1.md, baa/v2.md, …). A new version ships as a
// new file; a published file is never edited, since firms accepted its
// exact bytes (their acceptance records its SHA-256).
package compliance

import "embed"

// BAA holds the BAA versions as baa/vN.md.
//
//go:embed baa/*.md
var BAA embed.FS
