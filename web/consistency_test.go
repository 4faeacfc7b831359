package web_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// hashOf decodes a base64 hash of an API answer.
func hashOf(tb testing.TB, s string) tlog.Hash {
	tb.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize {
		tb.Fatalf("hash %q: %v", s, err)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

// treeProofOf decodes the proof of a consistency answer.
func treeProofOf(tb testing.TB, p *vault.AuditConsistency) tlog.TreeProof {
	tb.Helper()
	out := tlog.TreeProof{}
	for _, h := range p.Proof {
		out = append(out, hashOf(tb, h))
	}
	return out
}

// TestAudit_Consistency checks consistency proofs from the API with
// tlog.CheckTree between every pair of tree sizes 1..40, against the
// signed checkpoints where there are some, and that they do not take one
// firm's tree to another's (the fork at size 1).
func TestAudit_Consistency(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	auditor, _ := e.user(t, ou.TenantID, vault.RoleAuditor)
	lawyer, _ := e.user(t, ou.TenantID, vault.RoleLawyer)
	other, _ := e.firm(t, "us")
	// 850 requests in a few seconds: a server without the per-user limit.
	fast := e.server(t, func(s *web.Server) { s.UserRate, s.UserBurst = 1e6, 1e6 })
	for _, c := range []*client{owner, auditor, lawyer, other} {
		c.base = fast.URL()
	}
	for range 40 {
		var cp vault.AuditCheckpoint
		owner.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	}
	var latest vault.AuditCheckpoint
	auditor.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &latest)
	verifier, err := note.NewVerifier(latest.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}

	get := func(c *client, from, to int64) *vault.AuditConsistency {
		t.Helper()
		var p vault.AuditConsistency
		c.json(t, "GET", fmt.Sprintf("/api/v1/audit/consistency?from=%d&to=%d", from, to), nil, http.StatusOK, &p)
		if p.From != from || p.To != to {
			t.Fatalf("sizes %d, %d; want %d, %d", p.From, p.To, from, to)
		}
		return &p
	}
	roots := map[int64]tlog.Hash{}
	signed := 0
	for from := int64(1); from <= 40; from++ {
		for to := from; to <= 40; to++ {
			p := get(auditor, from, to)
			fr, tr := hashOf(t, p.FromRoot), hashOf(t, p.ToRoot)
			for _, s := range []struct {
				size int64
				root tlog.Hash
				cp   *vault.AuditCheckpoint
			}{{from, fr, p.FromCheckpoint}, {to, tr, p.ToCheckpoint}} {
				if r, ok := roots[s.size]; ok && r != s.root {
					t.Fatalf("root of size %d changed", s.size)
				}
				roots[s.size] = s.root
				if s.cp != nil {
					n, err := note.Open([]byte(s.cp.Note), note.VerifierList(verifier))
					if err != nil {
						t.Fatalf("checkpoint %d: %v", s.size, err)
					}
					_, size, root, err := audit.ParseCheckpointText(n.Text)
					if err != nil || size != s.size || root != s.root {
						t.Fatalf("checkpoint %d: size %d, root match %v, %v", s.size, size, root == s.root, err)
					}
					signed++
				}
			}
			proof := treeProofOf(t, p)
			if err := tlog.CheckTree(proof, to, tr, from, fr); err != nil {
				t.Fatalf("proof %d → %d: %v", from, to, err)
			}
			if from < to {
				if fr == tr {
					t.Fatalf("roots of %d and %d are equal", from, to)
				}
				if tlog.CheckTree(proof, to, tr, from, tr) == nil {
					t.Fatalf("proof %d → %d verifies a wrong old root", from, to)
				}
			}
		}
	}
	if signed == 0 {
		t.Error("no stored checkpoint came with a proof")
	}

	// Default to: the latest checkpoint's size; the proof checks against
	// the signed checkpoint it returns.
	var p vault.AuditConsistency
	owner.json(t, "GET", "/api/v1/audit/consistency?from=3", nil, http.StatusOK, &p)
	if p.To < latest.Size || p.ToCheckpoint == nil || p.ToCheckpoint.Size != p.To {
		t.Fatalf("default to = %d with checkpoint %v; want ≥ %d, signed", p.To, p.ToCheckpoint, latest.Size)
	}
	if err := tlog.CheckTree(treeProofOf(t, &p), p.To, hashOf(t, p.ToCheckpoint.Root), 3, roots[3]); err != nil {
		t.Fatalf("default proof: %v", err)
	}

	// Another firm's tree is a fork from size 1: a proof of this firm's
	// does not reach its root.
	var op vault.AuditConsistency
	other.json(t, "GET", "/api/v1/audit/consistency?from=1", nil, http.StatusOK, &op)
	if tlog.CheckTree(treeProofOf(t, get(owner, 1, op.To)), op.To, hashOf(t, op.ToRoot), 1, roots[1]) == nil {
		t.Error("a proof of one firm verifies another firm's root")
	}

	for _, q := range []string{"", "from=0", "from=-1", "from=x", "from=5&to=4", "from=1&to=x", "from=1.5", "from=1&to=0"} {
		resp, b := owner.read(t, "GET", "/api/v1/audit/consistency?"+q, nil, nil)
		wantError(t, resp, b, http.StatusBadRequest, "invalid")
	}
	resp, b := owner.read(t, "GET", "/api/v1/audit/consistency?from=1&to=1000000", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, "not_found")
	resp, b = owner.read(t, "GET", "/api/v1/audit/consistency?from=1000000", nil, nil)
	wantError(t, resp, b, http.StatusBadRequest, "invalid")
	resp, b = lawyer.read(t, "GET", "/api/v1/audit/consistency?from=1", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, "forbidden")

	// Each read is recorded as audit.read with read consistency.
	n := 0
	for _, ev := range auditEvents(t, owner, "action=audit.read") {
		if ev.Details["read"] == "consistency" {
			n++
		}
	}
	if want := 820 + 4; n < want {
		t.Errorf("audit.read consistency events = %d, want at least %d", n, want)
	}
}
