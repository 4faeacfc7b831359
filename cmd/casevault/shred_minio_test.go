package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// TestTenantShred_MinIOMirror shreds a firm of a region whose store and
// mirror are buckets of two MinIO servers: neither bucket keeps an object
// of it, both keep every object of the region's other firm, and the
// certificate counts each site.
func TestTenantShred_MinIOMirror(t *testing.T) {
	needAuditMove(t)
	mm := newMirroredMinIO(t)
	cfg := mm.config(t, true)
	ctx := context.Background()
	cf := &commonFlags{configFile: cfg, dataDir: mm.dataDir}
	m, err := cf.open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m.Service.PasswordParams = vaulttest.FastPasswords
	firm := makeMoveFirm(t, m, "us", "oak", 3, func(i int) int64 { return 6000 + int64(i)*1000 })
	stays := makeMoveFirm(t, m, "us", "birch", 2, func(int) int64 { return 5000 })
	secret, _, err := m.Service.Login(ctx, firm.Emails[0], firm.Passwords[firm.Emails[0]], "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	owner, _, err := m.Service.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Service.RequestShred(ctx, owner, "MOVEMARKOAK done", "MOVEMARKOAK LLP"); err != nil {
		t.Fatal(err)
	}
	vkey := m.AuditKeys["us"]
	m.Close()
	count := func(objs map[string][]byte, id string) int {
		n := 0
		for k := range objs {
			if strings.HasPrefix(k, id+"/") {
				n++
			}
		}
		return n
	}
	for _, site := range []struct {
		name string
		objs map[string][]byte
	}{{"primary", objects(t, mm.primary, mm.pBucket)}, {"mirror", objects(t, mm.mirror, mm.mBucket)}} {
		if count(site.objs, firm.ID) != 3 || count(site.objs, stays.ID) != 2 {
			t.Fatalf("%s before the shred: %d and %d objects of the two firms, want 3 and 2", site.name, count(site.objs, firm.ID), count(site.objs, stays.ID))
		}
	}

	cert := filepath.Join(t.TempDir(), "shred.cert")
	out, errOut, err := cli(t, mm.dataDir, "tenant", "shred", "--tenant", firm.ID, "--confirm", "MOVEMARKOAK LLP", "--no-bundle",
		"--out", cert, "--json", "--config", cfg)
	if err != nil {
		t.Fatalf("tenant shred: %v\n%s%s", err, out, errOut)
	}
	var c struct {
		Blobs []struct {
			Site    string
			Objects int64
		}
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || len(c.Blobs) != 2 || c.Blobs[0].Objects != 3 || c.Blobs[1].Objects != 3 {
		t.Errorf("certificate blobs = %+v (%v), want 3 objects on each of two sites", c.Blobs, err)
	}
	if out, errOut, err := offline("shred", "verify", "--key", vkey, cert); err != nil {
		t.Errorf("shred verify: %v\n%s%s", err, out, errOut)
	}
	for _, site := range []struct {
		name string
		objs map[string][]byte
	}{{"primary", objects(t, mm.primary, mm.pBucket)}, {"mirror", objects(t, mm.mirror, mm.mBucket)}} {
		if got := count(site.objs, firm.ID); got != 0 {
			t.Errorf("%s after the shred: %d objects of the firm, want 0", site.name, got)
		}
		if got := count(site.objs, stays.ID); got != 2 {
			t.Errorf("%s after the shred: %d objects of the firm that stays, want 2", site.name, got)
		}
		if hits := bytesHitsMap(site.objs, []string{"MOVEMARKOAK", firm.ID}); len(hits) > 0 {
			t.Errorf("%s: %v", site.name, hits)
		}
	}
	m2, err := cf.open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if _, err := m2.Service.Tenant(ctx, firm.ID); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Errorf("the shredded firm: got %v, want not_found", err)
	}
}
