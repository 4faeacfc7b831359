package shred_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/shred"
	"github.com/casevault/casevault/vault"
)

type key struct {
	signer note.Signer
	vkey   string
}

func newKey(t *testing.T, region string) key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, shred.KeyName(region))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return key{s, vkey}
}

func cert(t *testing.T, k key) *shred.Certificate {
	t.Helper()
	tenant := vault.NewID(vault.PrefixTenant)
	ck, err := note.Sign(&note.Note{Text: audit.CheckpointText(tenant, 42, tlog.Hash{1, 2, 3})}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 5, 0, 0, 123456789, time.UTC)
	return &shred.Certificate{
		Region: "ca", TenantID: tenant, RequestID: vault.NewID(vault.PrefixShred), RequestedBy: vault.NewID(vault.PrefixUser),
		RequestedAt: shred.Time{Time: at.Add(-time.Hour)}, ShreddedAt: shred.Time{Time: at}, Finished: shred.Time{Time: at.Add(3 * time.Second)},
		Keysets: []vault.KeysetID{
			{Purpose: "document", KeyIDs: []uint32{7, 9}, WrappedSHA256: strings.Repeat("ab", 32), WrappedBytes: 300},
			{Purpose: "field", KeyIDs: []uint32{11}, WrappedSHA256: strings.Repeat("cd", 32), WrappedBytes: 200},
		},
		Documents: 3, Versions: 4, VersionBytes: 1000, CipherBytes: 1200,
		Blobs: []shred.Site{{Site: "primary", Objects: 4, Bytes: 1200}, {Site: "mirror", Objects: 4, Bytes: 1200}},
		Rows:  30, DirectoryRows: 3, AuditEvents: 42, FinalCheckpoint: string(ck),
		Backup: &shred.Backup{ObjectsDeleted: 5, Earliest: shred.Time{Time: at.Add(2 * time.Second)}},
		Bundle: &shred.Bundle{SHA256: strings.Repeat("ef", 32), Bytes: 9000},
	}
}

func TestCertificate_SignVerify(t *testing.T) {
	ca, us := newKey(t, "ca"), newKey(t, "us")
	c := cert(t, ca)
	b, err := c.Sign(ca.signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := shred.Verify(b, []string{us.vkey, ca.vkey})
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, b)
	}
	if got.TenantID != c.TenantID || got.AuditEvents != 42 || len(got.SignedBy) != 1 {
		t.Errorf("got %+v, want the certificate of %s", got, c.TenantID)
	}
	if _, err := c.Sign(us.signer); err == nil {
		t.Error("a certificate of ca signed by us's key: got no error")
	}
	if _, err := shred.Verify(b, []string{us.vkey}); err == nil {
		t.Error("verified with another region's key only: got no error")
	}
	bad := cert(t, ca)
	bad.AuditEvents = 41
	if _, err := bad.Sign(ca.signer); err == nil {
		t.Error("audit_events not the final checkpoint's size: got no error")
	}
	// The final checkpoint signed by another key does not verify.
	other := cert(t, us)
	other.Region = "ca"
	ob, err := other.Sign(ca.signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shred.Verify(ob, []string{ca.vkey}); err == nil || !strings.Contains(err.Error(), "final_checkpoint") {
		t.Errorf("final checkpoint by another key: got %v, want a final_checkpoint error", err)
	}
}

func TestVerify_TamperedCertificate(t *testing.T) {
	ca := newKey(t, "ca")
	b, err := cert(t, ca).Sign(ca.signer)
	if err != nil {
		t.Fatal(err)
	}
	// Every byte of the file matters.
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		if _, err := shred.Verify(c, []string{ca.vkey}); err == nil {
			t.Fatalf("byte %d (%q) changed: verified", i, b[i])
		}
	}
}
