package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
)

// ContentType is that of an add-checkpoint request (c2sp.org/tlog-witness).
const ContentType = "text/plain; charset=utf-8"

// maxAnswer bounds a witness's answer: a few signature lines.
const maxAnswer = 64 << 10

// maxConflicts is how many 409 answers one submission follows, each
// telling the size the witness holds, before it gives up until the next try.
const maxConflicts = 3

// errAnswer is a witness answer that is neither a cosignature nor a refusal
// (5xx, 400, a cosignature that does not verify): retried.
var errAnswer = errors.New("unexpected witness answer")

// submit sends ck to the witness with the consistency proof from the tree
// it holds, and stores its cosignature. It returns nil once ck is settled:
// cosigned, refused (logged and counted) or superseded by a newer tree the
// witness holds; an error when it should be tried again.
func (w *witness) submit(ctx context.Context, ck *audit.Checkpoint) error {
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.turn }()
	for range maxConflicts {
		old, known := w.known[ck.Tenant]
		if old > ck.Size {
			return w.ahead(ctx, ck, old)
		}
		status, body, err := w.post(ctx, ck, old)
		if err != nil {
			return err
		}
		switch status {
		case http.StatusOK:
			return w.store(ctx, ck, body)
		case http.StatusConflict:
			n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%w: 409 with body %q", errAnswer, truncate(body))
			}
			w.known[ck.Tenant] = n
			continue
		case http.StatusForbidden, http.StatusUnprocessableEntity:
			// 422: the proof from the tree it holds does not verify, so
			// it holds another tree of that size. 403 from a witness
			// that accepted this log before: it no longer takes our
			// signature. Before it ever accepted one, 403 means the log
			// is not registered with it (yet): retried.
			if status == http.StatusForbidden && !known {
				return fmt.Errorf("%w: 403 %s (is the log's origin %s registered with its key?)", errAnswer, truncate(body), audit.Origin(ck.Tenant))
			}
			w.refuse(ck, old, status, body)
			return nil
		default:
			return fmt.Errorf("%w: %d %s", errAnswer, status, truncate(body))
		}
	}
	return fmt.Errorf("%w: the tree size it holds kept changing", errAnswer)
}

// post sends one add-checkpoint request: "old N", the consistency proof
// from N to ck's tree, one hash a line, a blank line, and ck's note.
func (w *witness) post(ctx context.Context, ck *audit.Checkpoint, old int64) (int, []byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 && old < ck.Size {
		proof, err := w.c.alog.ProveTree(ctx, ck.Tenant, old, ck.Size)
		if err != nil {
			return 0, nil, fmt.Errorf("consistency proof from %d to %d: %w", old, ck.Size, err)
		}
		for _, h := range proof {
			b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(ck.Note)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(w.URL, "/")+"/add-checkpoint", &b)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ContentType)
	resp, err := w.c.opts.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// store checks the witness's answer against its key and ck's text and
// stores the cosignature.
func (w *witness) store(ctx context.Context, ck *audit.Checkpoint, body []byte) error {
	text, _, ok := bytes.Cut(ck.Note, []byte("\n\n"))
	if !ok {
		return fmt.Errorf("checkpoint %d has a malformed note", ck.Size)
	}
	// The text with its final LF, copied: ck.Note is shared.
	text = append(append([]byte(nil), text...), '\n')
	var line string
	for _, l := range strings.SplitAfter(string(body), "\n") {
		c, err := audit.ParseCosignatureLine(l)
		if err != nil || c.Name != w.verifier.Name() || c.Hash != w.verifier.KeyHash() {
			continue
		}
		if _, err := note.Open(append(append(append([]byte(nil), text...), '\n'), c.Line...), note.VerifierList(w.verifier)); err != nil {
			return fmt.Errorf("%w: its cosignature does not verify with its key: %v", errAnswer, err)
		}
		line = c.Line
		break
	}
	if line == "" {
		return fmt.Errorf("%w: no cosignature of its key in %q", errAnswer, truncate(body))
	}
	if err := w.c.alog.AddCosignature(ctx, ck.Tenant, ck.Size, line); err != nil {
		return err
	}
	w.known[ck.Tenant] = ck.Size
	w.cosigned.Add(1)
	w.qmu.Lock()
	w.refused[ck.Tenant] = false
	w.qmu.Unlock()
	return nil
}

// ahead handles a witness that holds a larger tree than ck's: a newer
// checkpoint reached it first, which is fine, unless the log never grew
// that large — then someone else showed it a checkpoint signed with the
// log's key that the log never signed, and that is a refusal.
func (w *witness) ahead(ctx context.Context, ck *audit.Checkpoint, held int64) error {
	n, err := w.c.alog.Size(ctx, ck.Tenant)
	if err != nil {
		return err
	}
	if held > n {
		w.refuse(ck, held, http.StatusConflict, []byte(fmt.Sprintf("it holds a tree of size %d; the log has %d events", held, n)))
	}
	return nil
}

// refuse records that the witness refused ck: it saw a different history.
func (w *witness) refuse(ck *audit.Checkpoint, held int64, status int, body []byte) {
	w.refusals.Add(1)
	w.qmu.Lock()
	w.refused[ck.Tenant] = true
	w.qmu.Unlock()
	w.c.log.Error().Str("witness", w.Name).Str("tenant_id", ck.Tenant).Int64("size", ck.Size).Int64("witness_size", held).
		Int("status", status).Str("answer", truncate(body)).
		Msg("witness refused the audit log's checkpoint: it has seen a different history of this log (split view or fork); compare the checkpoints it cosigned with the log's")
}

// truncate shortens a witness's answer for a log line or an error.
func truncate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
