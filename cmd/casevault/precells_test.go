package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// readPrecells reads testdata/precells/manifest.json.
func readPrecells(t *testing.T) precellsManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(precellsDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m precellsManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Firms) != 2 {
		t.Fatalf("manifest has %d firms, want 2", len(m.Firms))
	}
	return m
}

// copyPrecells copies the fixture's data and keys directories into a new
// temporary directory and returns the data directory (its keys directory
// is the default one beside it). Files get mode 0600 and directories 0700,
// as the server made them: git keeps neither.
func copyPrecells(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, name := range []string{"data", "data-keys"} {
		src := filepath.Join(precellsDir, name)
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			to := filepath.Join(root, name, rel)
			if d.IsDir() {
				return os.MkdirAll(to, 0o700)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o600)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "data")
}

// TestPrecellsFixture starts the current binary on a copy of the data
// directory of testdata/precells (written by the release before cells):
// every user signs in with the manifest's password, every version of every
// document (the trashed one once restored) downloads with the manifest's
// SHA-256, the trashed document is in the trash and the renamed one has its
// new name, and each firm's exported audit bundle verifies with the
// manifest's verifier keys and extends the checkpoint stored when the
// fixture was made. The cells migration (issue 13) must keep this true.
func TestPrecellsFixture(t *testing.T) {
	m := readPrecells(t)
	dataDir := copyPrecells(t)
	srv := startServer(t, dataDir, "")
	for _, f := range m.Firms {
		t.Run(f.Region, func(t *testing.T) {
			var owner *client
			clients := map[string]*client{}
			for _, u := range f.Users {
				c := precellsLogin(t, srv.URL, u.Email, u.Password)
				var me struct {
					ID       string `json:"id"`
					TenantID string `json:"tenant_id"`
					Role     string `json:"role"`
				}
				c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
				if me.ID != u.ID || me.TenantID != f.ID || me.Role != u.Role {
					t.Errorf("%s: me = %+v, want %s of %s as %s", u.Email, me, u.ID, f.ID, u.Role)
				}
				clients[u.ID] = c
				if u.Role == "owner" {
					owner = c
				}
			}
			if owner == nil {
				t.Fatal("no owner in the manifest")
			}
			tc := newClient(srv.URL)
			tc.token = f.Tokens[0].Token
			tc.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, nil)

			for _, d := range f.Documents {
				up := clients[d.Uploader]
				if up == nil {
					t.Fatalf("document %s: uploader %q is not a user of the manifest", d.ID, d.Uploader)
				}
				var got docJSON
				up.json(t, "GET", "/api/v1/documents/"+d.ID, nil, http.StatusOK, &got)
				if got.Trashed != d.Trashed {
					t.Errorf("document %s trashed = %v, want %v", d.ID, got.Trashed, d.Trashed)
				}
				if d.Trashed {
					precellsGet(t, up, "/api/v1/documents/"+d.ID+"/download", http.StatusNotFound)
					up.json(t, "POST", "/api/v1/documents/"+d.ID+"/restore", nil, http.StatusOK, &got)
					if got.Trashed {
						t.Errorf("restore %s = %+v, still trashed", d.ID, got)
					}
				}
				up.json(t, "GET", "/api/v1/documents/"+d.ID, nil, http.StatusOK, &got)
				if got.Name != d.Name || got.MatterID != d.MatterID || got.Region != f.Region || got.Version != len(d.Versions) {
					t.Errorf("document %s = %+v, want name %q in %s, %s, version %d", d.ID, got, d.Name, d.MatterID, f.Region, len(d.Versions))
				}
				for _, v := range d.Versions {
					b := precellsGet(t, up, fmt.Sprintf("/api/v1/documents/%s/download?version=%d", d.ID, v.Version), http.StatusOK)
					sum := sha256.Sum256(b)
					if got, want := hex.EncodeToString(sum[:]), v.SHA256; got != want || len(b) != v.Size {
						t.Errorf("%s v%d: sha256 %s (%d bytes), want %s (%d bytes)", d.ID, v.Version, got, len(b), want, v.Size)
					}
				}
			}

			var grants []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			owner.json(t, "GET", "/api/v1/grants", nil, http.StatusOK, &grants)
			if len(grants) != len(f.Grants) || len(grants) == 0 || grants[0].ID != f.Grants[0] || grants[0].Status != "active" {
				t.Errorf("grants = %+v, want %v active", grants, f.Grants)
			}
			for _, w := range f.Walls {
				var walls []struct {
					UserID string `json:"user_id"`
				}
				owner.json(t, "GET", "/api/v1/matters/"+w.MatterID+"/walls", nil, http.StatusOK, &walls)
				if len(walls) != 1 || walls[0].UserID != w.UserID {
					t.Errorf("walls of %s = %+v, want %s", w.MatterID, walls, w.UserID)
				}
			}
			for _, action := range []string{"access.denied", "document.download", "document.view", "document.rename", "document.trash"} {
				var page struct {
					Events []struct {
						Seq int `json:"seq"`
					} `json:"events"`
				}
				owner.json(t, "GET", "/api/v1/audit/events?action="+action, nil, http.StatusOK, &page)
				if len(page.Events) == 0 || page.Events[0].Seq > f.AuditEvents {
					t.Errorf("no %s event among the fixture's %d: %+v", action, f.AuditEvents, page.Events)
				}
			}

			bundle := filepath.Join(t.TempDir(), "bundle.jsonl")
			if err := os.WriteFile(bundle, precellsGet(t, owner, "/api/v1/audit/export?format=jsonl", http.StatusOK), 0o600); err != nil {
				t.Fatal(err)
			}
			kept := filepath.Join(t.TempDir(), "checkpoint.txt")
			if err := os.WriteFile(kept, []byte(f.Checkpoint.Note), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"audit", "verify"}
			for _, k := range f.VerifierKeys {
				args = append(args, "--key", k)
			}
			args = append(args, "--checkpoint", kept, bundle)
			out, err := exec.Command(binary(t), args...).CombinedOutput()
			if err != nil {
				t.Fatalf("audit verify: %v\n%s", err, out)
			}
			if f.Checkpoint.Size != f.AuditEvents || f.Checkpoint.VerifierKey != f.VerifierKeys[len(f.VerifierKeys)-1] {
				t.Errorf("manifest checkpoint = size %d by %s, want size %d by %s", f.Checkpoint.Size, f.Checkpoint.VerifierKey, f.AuditEvents, f.VerifierKeys)
			}
		})
	}
}
