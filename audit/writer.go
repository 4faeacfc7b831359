package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// The writer goroutine: group commits of queued events and checkpoints.

// write is the writer goroutine: it takes every queued request, writes them
// in one transaction, and answers them, until reqs is closed and drained.
//
// A transaction costs about the same for one event as for dozens (the pages
// it dirties and the sync), so batches should be as large as the callers
// allow. The callers answered by one commit are usually about to append
// again; if fewer than that are queued when the next batch starts, the
// writer lingers a moment (at most maxLinger) for them. A lone caller
// (a batch of one) never waits.
func (l *Log) write() {
	defer close(l.writerDone)
	batch := make([]*request, 0, maxBatch)
	linger := time.NewTimer(maxLinger)
	linger.Stop()
	prev := 0
	for req := range l.reqs {
		batch = append(batch[:0], req)
		open := l.fill(&batch)
		if open && prev > 1 && len(batch) < prev {
			linger.Reset(maxLinger)
		wait:
			for len(batch) < min(prev, maxBatch) {
				select {
				case r, ok := <-l.reqs:
					if !ok {
						break wait
					}
					batch = append(batch, r)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop() // since Go 1.23, no stale tick survives Stop
			l.fill(&batch)
		}
		prev = len(batch)
		l.commitInOrder(batch)
		clear(batch)
	}
}

// maxLinger bounds how long the writer waits for a batch to fill.
const maxLinger = 500 * time.Microsecond

// fill adds queued requests to batch without waiting. It reports whether
// reqs is still open.
func (l *Log) fill(batch *[]*request) bool {
	for len(*batch) < maxBatch {
		select {
		case r, ok := <-l.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		default:
			return true
		}
	}
	return true
}

// commit writes a batch and answers every request in it. On failure every
// request gets unavailable and the in-memory tips of the batch's firms are
// forgotten, to be reloaded from what was durably committed.
func (l *Log) commit(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if r.ctx.Err() != nil {
			// The caller has given up and will not act: do not record it.
			r.done <- result{err: unavailable(r.ctx.Err())}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	seqs, tips, err := l.writeBatch(live)
	if err != nil {
		for _, r := range live {
			if r.entry != nil {
				delete(l.tips, r.entry.Tenant)
			}
		}
		l.log.Error().Err(err).Int("batch", len(live)).Msg("audit batch not written")
		l.failed.Add(int64(len(live)))
		err = unavailable(err)
		for _, r := range live {
			r.done <- result{err: err}
		}
		return
	}
	for t, tp := range tips {
		l.tips[t] = tp
	}
	l.batches.Add(1)
	for i, r := range live {
		if r.entry != nil {
			l.appended.Add(1)
			if r.hold != "" {
				l.setHeld(r.entry.Tenant, r.hold)
			}
		}
		r.done <- result{seq: seqs[i]}
	}
	l.grew(tips)
}

// writeBatch appends the batch's events and stores its checkpoints in one
// transaction. It returns each request's sequence number and the new tips
// of the firms it appended to.
func (l *Log) writeBatch(batch []*request) ([]int64, map[string]tip, error) {
	ctx := context.Background()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	insEvent, err := tx.PrepareContext(ctx, `
		INSERT INTO audit_events (tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, nil, err
	}
	defer insEvent.Close()
	insHash, err := tx.PrepareContext(ctx, `INSERT INTO audit_hashes (tenant_id, idx, hash) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, nil, err
	}
	defer insHash.Close()

	seqs := make([]int64, len(batch))
	tips := map[string]tip{}
	// fresh holds the hashes written earlier in this batch, which the
	// transaction would also return; reading them from memory is cheaper.
	fresh := map[string]map[int64]tlog.Hash{}
	for i, r := range batch {
		if r.ck != nil {
			if err := storeSigned(ctx, tx, r.ck); err != nil {
				return nil, nil, err
			}
			continue
		}
		e := *r.entry
		tp, ok := tips[e.Tenant]
		if !ok {
			if tp, err = l.tip(ctx, tx, e.Tenant); err != nil {
				return nil, nil, err
			}
		}
		e.Seq, e.Prev = tp.seq+1, tp.prev
		if e.Time < tp.time {
			// Events are stamped before they queue, so two appended at
			// once can arrive out of order: no event is earlier than the
			// one before it (docs/AUDIT-FORMAT.md §2).
			e.Time = tp.time
		}
		leaf, err := Encode(&e)
		if err != nil {
			return nil, nil, fmt.Errorf("encode event: %w", err)
		}
		if fresh[e.Tenant] == nil {
			fresh[e.Tenant] = map[int64]tlog.Hash{}
		}
		hashes, err := tlog.StoredHashes(e.Seq-1, leaf, hashReader(ctx, tx, e.Tenant, fresh[e.Tenant]))
		if err != nil {
			return nil, nil, err
		}
		if _, err := insEvent.ExecContext(ctx, e.Tenant, e.Seq, leaf, e.Time, e.ActorID, e.Action, e.ObjectType, e.ObjectID, r.matter, e.Outcome); err != nil {
			return nil, nil, err
		}
		idx := tlog.StoredHashIndex(0, e.Seq-1)
		for j, h := range hashes {
			if _, err := insHash.ExecContext(ctx, e.Tenant, idx+int64(j), h[:]); err != nil {
				return nil, nil, err
			}
			fresh[e.Tenant][idx+int64(j)] = h
		}
		tips[e.Tenant] = tip{seq: e.Seq, prev: PrevOf(leaf), time: e.Time}
		seqs[i] = e.Seq
		if r.hold != "" {
			if err := storeHold(ctx, tx, e.Tenant, r.hold, e.Time); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	return seqs, tips, nil
}

// tip returns where tenant's tree ends. The last sequence number is read
// inside the write transaction every time (one primary-key lookup per firm
// per batch), so another process appending to the same file — an operator
// command while the server runs — never makes this one reuse a number; the
// Prev of the next event comes from memory unless the tree moved.
func (l *Log) tip(ctx context.Context, tx *sql.Tx, tenant string) (tip, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE tenant_id = ?`, tenant).Scan(&last); err != nil {
		return tip{}, err
	}
	if tp, ok := l.tips[tenant]; ok && tp.seq == last {
		return tp, nil
	}
	var tp tip
	var leaf []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, leaf, time FROM audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, tenant).Scan(&tp.seq, &leaf, &tp.time)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return tip{}, err
	default:
		tp.prev = PrevOf(leaf)
	}
	var signed int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(size), 0) FROM audit_checkpoints WHERE tenant_id = ?`, tenant).Scan(&signed); err != nil {
		return tip{}, err
	}
	l.noteSigned(tenant, signed)
	return tp, nil
}
