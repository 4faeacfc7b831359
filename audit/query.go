package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// Records calls fn with each event of tenant that matches f, in Seq order,
// decoded. Rows stream from the database one at a time, so memory does not
// grow with the log; fn runs while the query is open and may call other
// methods of l. It stops at the first error of fn and returns it as is.
// Errors: invalid (bad filter), unavailable, internal (a stored leaf does
// not decode; RawRecords reads such rows verbatim).
func (l *Log) Records(ctx context.Context, tenant string, f Filter, fn func(*Record) error) error {
	query, args, err := recordsQuery(tenant, f)
	if err != nil {
		return err
	}
	return l.scan(ctx, query, args, func(seq int64, leaf []byte) error {
		e, err := Decode(leaf)
		if err != nil {
			return vault.WrapError(vault.EINTERNAL, err, "Audit event %d of the log does not decode.", seq)
		}
		return fn(&Record{Seq: seq, Leaf: leaf, Entry: e})
	})
}

// RawRecords calls fn with the sequence number and stored leaf of each
// event of tenant, in Seq order, without decoding: an export carries even a
// damaged leaf verbatim, for the verifier to name. It stops at the first
// error of fn and returns it as is. Errors: unavailable.
func (l *Log) RawRecords(ctx context.Context, tenant string, fn func(seq int64, leaf []byte) error) error {
	return l.scan(ctx, `SELECT seq, leaf FROM audit_events WHERE tenant_id = ? ORDER BY seq`, []any{tenant}, fn)
}

// recordsQuery builds the query of Records: every set field of f is one
// more condition on the columns copied out of the leaf.
func recordsQuery(tenant string, f Filter) (string, []any, error) {
	if f.AfterSeq < 0 || f.Limit < 0 {
		return "", nil, vault.Errorf(vault.EINVALID, "Invalid audit cursor or limit.")
	}
	var b strings.Builder
	b.WriteString(`SELECT seq, leaf FROM audit_events WHERE tenant_id = ?`)
	args := []any{tenant}
	eq := func(col, v string) {
		if v != "" {
			b.WriteString(` AND ` + col + ` = ?`)
			args = append(args, v)
		}
	}
	eq("actor_id", f.ActorID)
	eq("object_type", f.ObjectType)
	eq("object_id", f.ObjectID)
	eq("matter_id", f.MatterID)
	eq("action", f.Action)
	eq("outcome", f.Outcome)
	for _, c := range []struct {
		op string
		t  time.Time
	}{{">=", f.From}, {"<", f.To}} {
		if c.t.IsZero() {
			continue
		}
		t := c.t.UTC()
		if t.Year() < 1 || t.Year() > 9999 {
			return "", nil, vault.Errorf(vault.EINVALID, "Audit time range is out of range.")
		}
		// Stored times are fixed-width TimeLayout text: text order is time
		// order.
		b.WriteString(` AND time ` + c.op + ` ?`)
		args = append(args, t.Format(TimeLayout))
	}
	if f.AfterSeq > 0 {
		b.WriteString(` AND seq > ?`)
		args = append(args, f.AfterSeq)
	}
	b.WriteString(` ORDER BY seq`)
	if f.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}
	return b.String(), args, nil
}

// scan runs a query of (seq, leaf) rows and calls fn with each.
func (l *Log) scan(ctx context.Context, query string, args []any, fn func(seq int64, leaf []byte) error) error {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var leaf []byte
		if err := rows.Scan(&seq, &leaf); err != nil {
			return unavailable(err)
		}
		if err := fn(seq, leaf); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Checkpoints calls fn with each stored checkpoint of tenant whose size is
// at most upTo, in size order. It stops at the first error of fn and
// returns it as is. Errors: unavailable, internal.
func (l *Log) Checkpoints(ctx context.Context, tenant string, upTo int64, fn func(*Checkpoint) error) error {
	return l.checkpoints(ctx, `SELECT size, root, note, created_at FROM audit_checkpoints WHERE tenant_id = ? AND size <= ? ORDER BY size`,
		tenant, upTo, fn)
}

// checkpoints runs a query of checkpoint rows of tenant, with one size
// argument, and calls fn with each.
func (l *Log) checkpoints(ctx context.Context, query, tenant string, size int64, fn func(*Checkpoint) error) error {
	rows, err := l.db.QueryContext(ctx, query, tenant, size)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		c := &Checkpoint{Tenant: tenant}
		var root []byte
		var created string
		if err := rows.Scan(&c.Size, &root, &c.Note, &created); err != nil {
			return unavailable(err)
		}
		if len(root) != tlog.HashSize {
			return vault.Errorf(vault.EINTERNAL, "Audit checkpoint %d has a damaged root.", c.Size)
		}
		copy(c.Root[:], root)
		if c.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
			return vault.WrapError(vault.EINTERNAL, fmt.Errorf("parse checkpoint time: %w", err), "Audit checkpoint %d has a damaged time.", c.Size)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	return nil
}
