package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// copyChunk is how many events (with their stored hashes), or rows of
// the checkpoint tables, one transaction of CopyTenant writes: small
// enough that the target's other firms never wait long for its writer.
var copyChunk = 256

// afterCopyChunk, when set (tests), is called after each chunk commits.
var afterCopyChunk func()

// CopyTenant copies every row of tenant's log from one log to another,
// resumably, and checks the copied tree's root. The rows are copied byte
// for byte: events with their leaves and columns, stored hashes,
// checkpoints, the notes of audit_timestamps (heartbeats, exports' and
// the adoption's) and witnesses' cosignatures. It holds the firm's log in
// to (no appends, no signing there) until SwitchIn. It writes through to's
// writer, a chunk per transaction, so to keeps serving its other firms.
//
// A rerun after a crash or a cancelled ctx continues where the last
// committed chunk ended, or finds the copy complete. Called before the
// Handover it copies the log as it is, to be called again after it for
// the rest: Adopt needs the copy to hold the handover; called again after
// events were appended to the source since (a move interrupted after the
// handover, the firm served from its old cell meanwhile), it copies them. Rows already in
// to must be the source's: a different one is a conflict. At the end the
// root of to's tree, from its stored hashes and again from its leaves, must
// be the source's. Errors: invalid (from is to, or the service log),
// conflict (to holds the firm for another reason, or holds other rows),
// unavailable (also when ctx ends), internal (the copy does not match).
func CopyTenant(ctx context.Context, from, to *Log, tenant string) error {
	if from == to || from.path == to.path {
		return vault.Errorf(vault.EINVALID, "A log is not copied onto itself.")
	}
	if tenant == "" {
		return vault.Errorf(vault.EINVALID, "The service log does not move.")
	}
	switch to.heldReason(tenant) {
	case holdMovingIn:
	case holdAdopting:
		// A move stopped after the copy was let take appends, before the
		// directory was switched: nothing was appended (the firm was
		// served from its old cell), the copy goes on.
		if err := to.run(ctx, func(ctx context.Context) error { return to.changeHold(ctx, tenant, holdMovingIn, holdAdopting) }); err != nil {
			return err
		}
	case "":
		if n, err := to.Size(ctx, tenant); err != nil {
			return err
		} else if n > 0 {
			return vault.Errorf(vault.ECONFLICT, "The target audit log has events of this firm already that no move copied.")
		}
		if err := to.hold(ctx, tenant, holdMovingIn); err != nil {
			return err
		}
	default:
		return vault.Errorf(vault.ECONFLICT, "The target audit log handed this firm over; it takes no copy of it.")
	}
	n, err := from.Size(ctx, tenant)
	if err != nil {
		return err
	}
	if err := copyEvents(ctx, from, to, tenant, n); err != nil {
		return err
	}
	for _, t := range copyTables {
		if err := copyRows(ctx, from, to, tenant, n, t); err != nil {
			return err
		}
	}
	return checkCopy(ctx, from, to, tenant, n)
}

// copyEvents copies tenant's events up to seq n, with their stored hashes,
// after those to has.
func copyEvents(ctx context.Context, from, to *Log, tenant string, n int64) error {
	k, err := to.Size(ctx, tenant)
	if err != nil {
		return err
	}
	if k > n {
		return vault.Errorf(vault.ECONFLICT, "The target audit log has more events of this firm (%d) than the source (%d).", k, n)
	}
	if err := sameLeaf(ctx, from, to, tenant, k); err != nil {
		return err
	}
	for k < n {
		if err := ctx.Err(); err != nil {
			return unavailable(err)
		}
		m := min(int64(copyChunk), n-k)
		evs, err := readRows(ctx, from.db, `SELECT tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome
			FROM audit_events WHERE tenant_id = ? AND seq > ? AND seq <= ? ORDER BY seq`, 10, tenant, k, k+m)
		if err != nil {
			return err
		}
		hs, err := readRows(ctx, from.db, `SELECT tenant_id, idx, hash FROM audit_hashes WHERE tenant_id = ? AND idx >= ? AND idx < ? ORDER BY idx`,
			3, tenant, tlog.StoredHashIndex(0, k), tlog.StoredHashIndex(0, k+m))
		if err != nil {
			return err
		}
		if int64(len(evs)) != m {
			return vault.Errorf(vault.EINTERNAL, "The source audit log lacks events %d to %d of this firm.", k+1, k+m)
		}
		err = to.run(ctx, func(ctx context.Context) error {
			return inTx(ctx, to.db, func(tx *sql.Tx) error {
				if err := insertRows(ctx, tx, `INSERT INTO audit_events (tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, evs); err != nil {
					return err
				}
				return insertRows(ctx, tx, `INSERT INTO audit_hashes (tenant_id, idx, hash) VALUES (?, ?, ?)`, hs)
			})
		})
		if err != nil {
			return err
		}
		k += m
		if afterCopyChunk != nil {
			afterCopyChunk()
		}
	}
	return nil
}

// copyTable is one of the tables of signed notes CopyTenant copies: the
// rows of tenant of size at most n, each named by key (its primary key,
// or for audit_timestamps its content), inserted with insert.
type copyTable struct {
	name   string
	cols   int
	query  string // args tenant, n; key columns first
	keyLen int    // how many leading columns name the row
	insert string
}

var copyTables = []copyTable{
	{name: "audit_checkpoints", cols: 5, keyLen: 2,
		query:  `SELECT tenant_id, size, root, note, created_at FROM audit_checkpoints WHERE tenant_id = ? AND size <= ? ORDER BY size`,
		insert: `INSERT INTO audit_checkpoints (tenant_id, size, root, note, created_at) VALUES (?, ?, ?, ?, ?)`},
	{name: "audit_timestamps", cols: 4, keyLen: 4,
		query:  `SELECT tenant_id, size, note, signed_at FROM audit_timestamps WHERE tenant_id = ? AND size <= ? ORDER BY id`,
		insert: `INSERT INTO audit_timestamps (tenant_id, size, note, signed_at) VALUES (?, ?, ?, ?)`},
	{name: "audit_cosignatures", cols: 6, keyLen: 4,
		query:  `SELECT tenant_id, size, key_name, key_hash, line, created_at FROM audit_cosignatures WHERE tenant_id = ? AND size <= ? ORDER BY size, key_name, key_hash`,
		insert: `INSERT INTO audit_cosignatures (tenant_id, size, key_name, key_hash, line, created_at) VALUES (?, ?, ?, ?, ?, ?)`},
}

// copyRows copies the rows of t that to lacks; one it has must be the
// source's, byte for byte. audit_timestamps keep the source's order.
func copyRows(ctx context.Context, from, to *Log, tenant string, n int64, t copyTable) error {
	src, err := readRows(ctx, from.db, t.query, t.cols, tenant, n)
	if err != nil {
		return err
	}
	dst, err := readRows(ctx, to.db, t.query, t.cols, tenant, n)
	if err != nil {
		return err
	}
	have := make(map[string]string, len(dst))
	for _, r := range dst {
		have[rowKey(r[:t.keyLen])] = rowKey(r)
	}
	var missing [][]any
	for _, r := range src {
		got, ok := have[rowKey(r[:t.keyLen])]
		switch {
		case !ok:
			missing = append(missing, r)
		case got != rowKey(r):
			return vault.Errorf(vault.ECONFLICT, "The target audit log has a row of %s of this firm that is not the source's.", t.name)
		}
	}
	for len(missing) > 0 {
		if err := ctx.Err(); err != nil {
			return unavailable(err)
		}
		chunk := missing[:min(copyChunk, len(missing))]
		missing = missing[len(chunk):]
		err := to.run(ctx, func(ctx context.Context) error {
			return inTx(ctx, to.db, func(tx *sql.Tx) error { return insertRows(ctx, tx, t.insert, chunk) })
		})
		if err != nil {
			return err
		}
		if afterCopyChunk != nil {
			afterCopyChunk()
		}
	}
	return nil
}

// checkCopy checks that to has tenant's tree of size n with the source's
// root, from its stored hashes and from its leaves, and as many rows of
// each table as the source.
func checkCopy(ctx context.Context, from, to *Log, tenant string, n int64) error {
	bad := func(format string, args ...any) error {
		return vault.Errorf(vault.EINTERNAL, "The copy of the firm's audit log does not match the source: "+format+".", args...)
	}
	if got, err := to.Size(ctx, tenant); err != nil {
		return err
	} else if got != n {
		return bad("%d events, want %d", got, n)
	}
	for _, t := range copyTables {
		var a, b int64
		q := `SELECT COUNT(*) FROM ` + t.name + ` WHERE tenant_id = ? AND size <= ?`
		if err := from.db.QueryRowContext(ctx, q, tenant, n).Scan(&a); err != nil {
			return unavailable(err)
		}
		if err := to.db.QueryRowContext(ctx, q, tenant, n).Scan(&b); err != nil {
			return unavailable(err)
		}
		if a != b {
			return bad("%d rows of %s, want %d", b, t.name, a)
		}
	}
	if n == 0 {
		return nil
	}
	want, err := tlog.TreeHash(n, hashReader(ctx, from.db, tenant, nil))
	if err != nil {
		return treeError(err)
	}
	got, err := tlog.TreeHash(n, hashReader(ctx, to.db, tenant, nil))
	if err != nil {
		return treeError(err)
	}
	if got != want {
		return bad("the root of its stored hashes is %s, want %s", b64(got), b64(want))
	}
	var tree treeStack
	err = to.RawRecords(ctx, tenant, func(seq int64, leaf []byte) error {
		if seq != tree.n+1 {
			return bad("event %d follows event %d", seq, tree.n)
		}
		tree.push(LeafHash(leaf))
		return nil
	})
	if err != nil {
		return err
	}
	if tree.n != n || tree.root() != want {
		return bad("the root of its leaves is %s, want %s", b64(tree.root()), b64(want))
	}
	return nil
}

// sameLeaf checks that tenant's event seq is the same leaf in both logs
// (seq 0: nothing to check). Errors: conflict, unavailable.
func sameLeaf(ctx context.Context, from, to *Log, tenant string, seq int64) error {
	if seq == 0 {
		return nil
	}
	a, err := leafAt(ctx, from.db, tenant, seq)
	if err != nil {
		return err
	}
	b, err := leafAt(ctx, to.db, tenant, seq)
	if err != nil {
		return err
	}
	if string(a) != string(b) {
		return vault.Errorf(vault.ECONFLICT, "The target audit log's event %d of this firm is not the source's.", seq)
	}
	return nil
}

// leafAt returns tenant's leaf seq in db.
func leafAt(ctx context.Context, db *sql.DB, tenant string, seq int64) ([]byte, error) {
	var leaf []byte
	if err := db.QueryRowContext(ctx, `SELECT leaf FROM audit_events WHERE tenant_id = ? AND seq = ?`, tenant, seq).Scan(&leaf); err != nil {
		return nil, unavailable(err)
	}
	return leaf, nil
}

// readRows reads every row of a query of cols columns, each value as the
// driver returns it (so that it is written back unchanged).
func readRows(ctx context.Context, db *sql.DB, query string, cols int, args ...any) ([][]any, error) {
	out, err := queryRows(ctx, db, query, cols, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// queryRows is readRows on a database or a transaction, its errors as
// they come.
func queryRows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, cols int, args ...any) ([][]any, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		r := make([]any, cols)
		ptrs := make([]any, cols)
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// insertRows runs insert once per row in tx.
func insertRows(ctx context.Context, tx *sql.Tx, insert string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, insert)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return nil
}

// rowKey is a row's values as one comparable string: each value's type
// and bytes, so a text and a blob of the same bytes differ.
func rowKey(r []any) string {
	h := sha256.New()
	for _, v := range r {
		switch x := v.(type) {
		case []byte:
			fmt.Fprintf(h, "b%d:", len(x))
			h.Write(x)
		case string:
			fmt.Fprintf(h, "s%d:%s", len(x), x)
		default:
			fmt.Fprintf(h, "%T:%v;", x, x)
		}
	}
	return string(h.Sum(nil))
}

// inTx runs fn in a transaction of db and commits it.
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
