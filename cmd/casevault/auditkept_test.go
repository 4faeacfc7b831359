package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// copyDir copies the data directory src to dst, files and modes.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(to, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// keptFirm is a firm on a real data directory, with helpers to act, keep
// checkpoints and export.
type keptFirm struct {
	m      *Main
	tenant string
	owner  *vault.User
}

func (f *keptFirm) matters(t *testing.T, n int, prefix string) {
	t.Helper()
	for i := range n {
		if _, err := f.m.Service.CreateMatter(context.Background(), f.owner, fmt.Sprintf("%s %d", prefix, i), "Client"); err != nil {
			t.Fatal(err)
		}
	}
}

// keep writes the firm's latest checkpoint to path as the API returns it:
// the note, or (json) the whole answer.
func (f *keptFirm) keep(t *testing.T, path string, asJSON bool) *vault.AuditCheckpoint {
	t.Helper()
	cp, err := f.m.Service.AuditCheckpoint(context.Background(), f.owner)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(cp.Note)
	if asJSON {
		b, _ = json.Marshal(cp)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cp
}

func (f *keptFirm) export(t *testing.T, path string, filter vault.AuditFilter) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := f.m.Service.ExportAudit(context.Background(), f.owner, vault.AuditFormatJSONL, filter, out); err != nil {
		t.Fatal(err)
	}
}

// TestCLI_AuditVerifyCheckpoint checks `audit verify --checkpoint` on
// bundles of a real data directory: checkpoints kept earlier, one by one
// or as a directory, pass on complete and filtered bundles; one of a fork
// of the log (a copy of the directory that went its own way), one longer
// than the bundle, and one signed with another key fail naming the file;
// a missing file, an empty directory and --checkpoint without --key are
// usage errors.
func TestCLI_AuditVerifyCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := newDataDir(t)
	kept := filepath.Join(t.TempDir(), "kept")
	m := openMain(t, dir)
	tenant, owner, _, err := m.Service.CreateTenant(ctx, vault.NewTenant{Name: "Harbour LLP", Region: "us", Owner: vault.NewUser{Email: "owner@harbour.example"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &keptFirm{m: m, tenant: tenant.ID, owner: owner}
	f.matters(t, 3, "Matter")
	cp1 := f.keep(t, filepath.Join(kept, "1.note"), false)
	f.keep(t, filepath.Join(kept, "1b.json"), true)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	forkDir := newDataDir(t)
	copyDir(t, dir, forkDir)
	copyDir(t, dir+"-keys", forkDir+"-keys") // config.Default's KeysDir beside it

	f.m = openMain(t, dir)
	f.matters(t, 6, "Later")
	cp2 := f.keep(t, filepath.Join(kept, "2.note"), false)
	f.matters(t, 2, "Last")
	complete := filepath.Join(t.TempDir(), "complete.jsonl")
	filtered := filepath.Join(t.TempDir(), "filtered.jsonl")
	f.export(t, complete, vault.AuditFilter{})
	f.export(t, filtered, vault.AuditFilter{Action: vault.ActMatterCreate})
	key, err := f.m.Audit.VerifierKey(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Close(); err != nil {
		t.Fatal(err)
	}

	// The fork: the same firm and key, other events after cp1.
	fork := &keptFirm{m: openMain(t, forkDir), tenant: tenant.ID, owner: owner}
	fork.matters(t, 1, "Forged")
	forked := filepath.Join(t.TempDir(), "forked.note")
	fcp := fork.keep(t, forked, false)
	fork.matters(t, 30, "Forged more")
	longer := filepath.Join(t.TempDir(), "longer.note")
	lcp := fork.keep(t, longer, false)
	if err := fork.m.Close(); err != nil {
		t.Fatal(err)
	}
	if !(cp1.Size < fcp.Size && fcp.Size < cp2.Size) {
		t.Fatalf("sizes: kept %d, fork %d, kept %d", cp1.Size, fcp.Size, cp2.Size)
	}

	// A checkpoint of the same text signed with another key.
	skey, _, err := note.GenerateKey(rand.Reader, "casevault-audit-us")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(cp2.Note), note.VerifierList(mustVerifier(t, key)))
	if err != nil {
		t.Fatal(err)
	}
	other, err := note.Sign(&note.Note{Text: n.Text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(t.TempDir(), "other-key.note")
	if err := os.WriteFile(otherKey, other, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, bundle := range []string{complete, filtered} {
		t.Run(filepath.Base(bundle), func(t *testing.T) {
			for _, args := range [][]string{
				{"--checkpoint", filepath.Join(kept, "1.note"), "--checkpoint", filepath.Join(kept, "2.note")},
				{"--checkpoint", kept},
				{"--checkpoint", filepath.Join(kept, "1b.json")},
			} {
				code, out, errOut := auditVerify(append(append([]string{"--key", key}, args...), bundle)...)
				if code != 0 || !strings.HasPrefix(out, "OK: ") || errOut != "" {
					t.Fatalf("%q: exit %d\nstdout %s\nstderr %s", args, code, out, errOut)
				}
				for _, a := range args[1:] {
					if a != "--checkpoint" && !strings.Contains(out, "Checkpoint "+filepath.Join(kept, "")) {
						t.Errorf("%q: stdout %q names no kept checkpoint", args, out)
					}
				}
				if got, want := strings.Count(out, "OK, the bundle's log extends it."), len(args)/2; args[1] != kept && got != want {
					t.Errorf("%q: %d checkpoints OK, want %d\n%s", args, got, want, out)
				}
				if args[1] == kept && strings.Count(out, "OK, the bundle's log extends it.") != 3 {
					t.Errorf("directory: %s", out)
				}
			}
			for _, tt := range []struct {
				name, path, want string
			}{
				{"Forked", forked, ""},
				{"Longer", longer, fmt.Sprintf("its tree size %d is beyond the bundle's", lcp.Size)},
				{"OtherKey", otherKey, "not signed by the verifier key"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					code, out, errOut := auditVerify("--key", key, "--checkpoint", filepath.Join(kept, "1.note"), "--checkpoint", tt.path, bundle)
					if code != 1 || !strings.Contains(errOut, "FAIL: checkpoint "+tt.path) || !strings.Contains(errOut, tt.want) {
						t.Fatalf("exit %d\nstdout %s\nstderr %s\nwant exit 1, FAIL naming %s, %q", code, out, errOut, tt.path, tt.want)
					}
				})
			}
		})
	}
	// Against the complete bundle the fork is named as one; the filtered
	// bundle holds no checkpoint of its size, and says so.
	_, _, errOut := auditVerify("--key", key, "--checkpoint", forked, complete)
	if !strings.Contains(errOut, "its log does not extend this checkpoint (a fork)") {
		t.Errorf("complete bundle, forked checkpoint: %s", errOut)
	}
	_, _, errOut = auditVerify("--key", key, "--checkpoint", forked, filtered)
	if !strings.Contains(errOut, "cannot be checked") && !strings.Contains(errOut, "(a fork)") {
		t.Errorf("filtered bundle, forked checkpoint: %s", errOut)
	}

	empty := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", key, "--checkpoint", filepath.Join(kept, "missing.note"), complete}, "--checkpoint: "},
		{[]string{"--key", key, "--checkpoint", empty, complete}, "no checkpoint files in the directory"},
		{[]string{"--trust-bundle-key", "--checkpoint", forked, complete}, "--checkpoint needs --key"},
		{[]string{"--key", key, "--checkpoint=", complete}, "empty path"},
	} {
		code, out, errOut := auditVerify(tt.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

func mustVerifier(t *testing.T, key string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
