package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// v1Key is the verifier key of testdata/v1signer, a signer file (and its
// master key) written by the code before rotation existed: version 1, one
// key, no validity.
const v1Key = "casevault-audit-us+7eabab34+AQCc93QL1GdqLyzszTTjOqJ4EezySZPir3K4HdDKzgIj"

// copyV1 copies the version 1 fixture into a temporary directory.
func copyV1(t *testing.T) (dir string, master keys.MasterKey) {
	t.Helper()
	dir = t.TempDir()
	for _, name := range []string{"us-master.json", "us-audit-signer.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "v1signer", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	master, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "us-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, master
}

func TestAuditSigner_Version1FileLoads(t *testing.T) {
	ctx := context.Background()
	dir, master := copyV1(t)
	path := filepath.Join(dir, "us-audit-signer.json")
	before, _ := os.ReadFile(path)
	s, err := keys.LoadOrCreateAuditSigner(ctx, path, "us", master)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.VerifierKey, v1Key; got != want {
		t.Fatalf("verifier key %q, want %q", got, want)
	}
	if len(s.Retired) != 0 || s.ValidFrom.IsZero() {
		t.Fatalf("retired %v, valid from %v", s.Retired, s.ValidFrom)
	}
	ks := s.Keys("us")
	if len(ks) != 1 || ks[0].State != vault.AuditKeyCurrent || ks[0].ValidUntil != nil {
		t.Fatalf("keys %+v", ks)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("loading a version 1 file rewrote it")
	}
}

func TestRotateAuditSigner(t *testing.T) {
	ctx := context.Background()
	dir, master := copyV1(t)
	path := filepath.Join(dir, "us-audit-signer.json")
	var v1 struct {
		Wrapped []byte `json:"wrapped_signer_key"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &v1); err != nil {
		t.Fatal(err)
	}
	old, err := keys.LoadOrCreateAuditSigner(ctx, path, "us", master)
	if err != nil {
		t.Fatal(err)
	}
	oldMsg, err := note.Sign(&note.Note{Text: "casevault/audit/ten_x\n1\nAAAA\n"}, old.Signer)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Second) // after the copy was written
	s, statement, err := keys.RotateAuditSigner(ctx, path, "us", master, at)
	if err != nil {
		t.Fatal(err)
	}
	if s.VerifierKey == v1Key || !strings.HasPrefix(s.VerifierKey, "casevault-audit-us+") {
		t.Fatalf("new key %q", s.VerifierKey)
	}
	if got, want := s.ValidFrom, at; !got.Equal(want) {
		t.Errorf("valid from %v, want %v", got, want)
	}
	if len(s.Retired) != 1 || s.Retired[0].VerifierKey != v1Key || !s.Retired[0].ValidUntil.Equal(at) || s.Retired[0].Rotation != statement {
		t.Fatalf("retired %+v", s.Retired)
	}
	r, err := keys.OpenRotation(statement)
	if err != nil {
		t.Fatal(err)
	}
	if r.Region != "us" || r.OldKey != v1Key || r.NewKey != s.VerifierKey || !r.Time.Equal(at) {
		t.Fatalf("statement %+v", r)
	}
	// One signature missing, or the text changed: not a statement.
	text, sigs, _ := strings.Cut(statement, "\n\n")
	first, _, _ := strings.Cut(sigs, "\n")
	if _, err := keys.OpenRotation(text + "\n\n" + first + "\n"); err == nil {
		t.Error("a statement signed by the old key alone was accepted")
	}
	if _, err := keys.OpenRotation(strings.Replace(statement, "region us", "region ca", 1)); err == nil {
		t.Error("an edited statement was accepted")
	}

	// Reloaded: the new key signs, the old one still verifies what it
	// signed, and its private half is gone from the file.
	again, err := keys.LoadOrCreateAuditSigner(ctx, path, "us", master)
	if err != nil || again.VerifierKey != s.VerifierKey || len(again.Retired) != 1 {
		t.Fatalf("reload: %v, %+v", err, again)
	}
	ov, _ := note.NewVerifier(again.Retired[0].VerifierKey)
	if _, err := note.Open(oldMsg, note.VerifierList(ov)); err != nil {
		t.Fatalf("the retired key does not verify its checkpoint: %v", err)
	}
	file, _ := os.ReadFile(path)
	if bytes.Contains(file, v1.Wrapped) || strings.Contains(string(file), "PRIVATE+KEY") {
		t.Fatal("the signer file still holds the retired private key")
	}
	var sf struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(file, &sf); sf.Version != 2 {
		t.Fatalf("version %d, want 2", sf.Version)
	}

	// A second rotation keeps both retired keys, oldest first.
	s3, _, err := keys.RotateAuditSigner(ctx, path, "us", master, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ks := s3.Keys("us")
	if len(ks) != 3 || ks[0].VerifierKey != v1Key || ks[1].VerifierKey != s.VerifierKey || ks[2].State != vault.AuditKeyCurrent {
		t.Fatalf("keys after two rotations: %+v", ks)
	}
	if !ks[1].ValidFrom.Equal(at) || !ks[1].ValidUntil.Equal(at.Add(time.Hour)) {
		t.Errorf("validity of the second key: %v to %v", ks[1].ValidFrom, ks[1].ValidUntil)
	}

	// Nothing to rotate without a signer file.
	if _, _, err := keys.RotateAuditSigner(ctx, filepath.Join(dir, "none.json"), "us", master, at); vault.ErrorCode(err) != vault.ENOTFOUND {
		t.Fatalf("missing file: %v", err)
	}
}
