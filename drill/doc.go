// Package drill is the signed record of a restore drill (docs/DRILL-FORMAT.md):
// a region's latest backup restored into a temporary directory inside the
// region's cell, checked as `casevault restore` checks a copy, a sample of
// documents decrypted end to end, and the result — RPO, RTO, what was
// checked, what failed — signed by the region's audit checkpoint key in
// the signed-note format, so that anyone holding the region's published
// verifier keys can check it offline (Verify).
//
// A record names no firm: it is kept in the cell, which a firm may leave,
// and each firm's own audit log holds its backup.drill event.
package drill
