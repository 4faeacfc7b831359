package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestAuditSigner(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	master, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "ca-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca-audit-signer.json")
	s1, err := keys.LoadOrCreateAuditSigner(ctx, path, "ca", master)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: "casevault/audit/ten_x\n1\nAAAA\n"}, s1.Signer)
	if err != nil {
		t.Fatal(err)
	}
	// Reloaded, the same key: old checkpoints stay verifiable.
	s2, err := keys.LoadOrCreateAuditSigner(ctx, path, "ca", master)
	if err != nil || s2.VerifierKey != s1.VerifierKey {
		t.Fatalf("reload: %v, key %q vs %q", err, s2.VerifierKey, s1.VerifierKey)
	}
	v, err := note.NewVerifier(s2.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	// Key is the same Ed25519 key: its signatures verify with the public
	// key in the published verifier key (the timestamp lines need that).
	pub, ok := s2.Key.Public().(ed25519.PublicKey)
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(s2.VerifierKey, "+", 3)[2])
	if !ok || !bytes.Equal(pub, raw[1:]) {
		t.Fatalf("Key's public key %x is not the verifier key's %x", pub, raw[1:])
	}
	sig, err := s2.Key.Sign(nil, []byte("timestamp"), crypto.Hash(0))
	if err != nil || !ed25519.Verify(pub, []byte("timestamp"), sig) {
		t.Fatalf("Key signs badly: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signer file mode %v, %v", fi.Mode(), err)
	}
	// The private key is not in the file in the clear.
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte("PRIVATE+KEY")) {
		t.Fatal("signer file holds the private key in the clear")
	}
	// Another region's name, or another master key, does not load it.
	if _, err := keys.LoadOrCreateAuditSigner(ctx, path, "us", master); vault.ErrorCode(err) != vault.EINVALID {
		t.Fatalf("other region: %v", err)
	}
	other, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "other-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadOrCreateAuditSigner(ctx, path, "ca", other); vault.ErrorCode(err) != vault.EINVALID {
		t.Fatalf("other master: %v", err)
	}
}
