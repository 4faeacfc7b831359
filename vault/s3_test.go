package vault_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/s3/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Run(m)) }

// TestService_S3 runs the service with its ca region in a real MinIO bucket
// and its us region in another: documents round-trip, ranges work, and a ca
// firm writes only to the ca bucket.
func TestService_S3(t *testing.T) {
	srv := s3test.Shared(t, s3test.KindMinIO)
	stores := map[string]vault.BlobStore{"ca": srv.NewStore(t, "ca"), "us": srv.NewStore(t, "us")}
	e := newEnv(t, stores)
	ctx := context.Background()
	_, owner := e.firm(t, "Northern LLP", "ca")
	m := e.matter(t, owner, "M")
	content := random(11, 5<<20+77)
	d := e.put(t, owner, m.ID, "scan.pdf", content)
	got, err := e.read(t, owner, d.ID, 0, 0, -1)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	got, err = e.read(t, owner, d.ID, 0, 3<<20-5, 10)
	if err != nil || !bytes.Equal(got, content[3<<20-5:3<<20+5]) {
		t.Fatalf("range: %v", err)
	}
	if _, err := e.Svc.PutVersion(ctx, owner, d.ID, "", bytes.NewReader(content[:100]), -1); err != nil {
		t.Fatal(err)
	}
	if keys := storeObjects(t, stores["ca"]); len(keys) != 2 {
		t.Fatalf("ca bucket holds %v, want 2 blobs", keys)
	}
	if keys := storeObjects(t, stores["us"]); len(keys) != 0 {
		t.Fatalf("us bucket holds %v, want nothing", keys)
	}
	// A failed upload leaves no object behind in the bucket either.
	_, err = e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "x"}, bytes.NewReader(content), int64(len(content))+1)
	wantCode(t, err, vault.EINVALID)
	if keys := storeObjects(t, stores["ca"]); len(keys) != 2 {
		t.Fatalf("ca bucket holds %v after a failed upload, want the 2 committed blobs", keys)
	}
}

// TestService_S3_NoMarker checks that nothing stored in the bucket holds the
// plaintext of documents or names.
func TestService_S3_NoMarker(t *testing.T) {
	srv := s3test.Shared(t, s3test.KindMinIO)
	ca := srv.NewStore(t, "marker")
	local, err := fs.New(filepath.Join(t.TempDir(), "us"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, map[string]vault.BlobStore{"ca": ca, "us": local})
	const marker = "OCELOT-CONFIDENTIAL-9920"
	_, owner := e.firm(t, "Firm", "ca")
	m, err := e.Svc.CreateMatter(context.Background(), owner, "Matter "+marker, "Client "+marker)
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, owner, m.ID, "Doc "+marker, bytes.Repeat([]byte(marker+" "), 100000))
	for _, key := range storeObjects(t, ca) {
		rc, err := ca.Get(context.Background(), key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(rc)
		rc.Close()
		if bytes.Contains(buf.Bytes(), []byte(marker)) {
			t.Fatalf("object %s holds the marker in plaintext", key)
		}
	}
}
