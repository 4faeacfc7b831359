package residency_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault/s3/s3test"
)

// TestScanStore_MinIO: the scan of a real MinIO bucket reads every object,
// key and bytes (skipped outside CI when MinIO is not built).
func TestScanStore_MinIO(t *testing.T) {
	srv := s3test.Shared(t, s3test.KindMinIO)
	st := srv.NewStore(t, "residency-scan")
	big := bytes.Repeat([]byte{0}, 300<<10)
	copy(big[256<<10-3:], "ann@ca.example")
	put(t, st, "ten_other/doc_1/v1", big)
	put(t, st, "ten_cafirm0001/doc_2/v1", []byte("nothing"))
	put(t, st, "ten_other/doc_3/v1", []byte("clean"))
	testScanStore(t, st, int64(len(big)+len("nothing")+len("clean")))
}

// TestBuild_MinIO: a ca firm on one MinIO bucket and a us cell on another
// (one MinIO per region): the report lists the firm's objects with their
// SHA-256, describes the buckets without credentials, and verifies; an
// object of the firm left in the us bucket fails the build.
func TestBuild_MinIO(t *testing.T) {
	ctx := context.Background()
	caSrv, usSrv := s3test.MinIO(t), s3test.MinIO(t)
	caSt, usSt := caSrv.NewStore(t, "residency-ca"), usSrv.NewStore(t, "residency-us")
	put(t, caSt, caFirm+"/doc_1/v1", []byte("ca ciphertext"))
	put(t, caSt, "ten_otherca/doc_1/v1", []byte("other"))
	put(t, usSt, "ten_usfirm/doc_1/v1", []byte("us ciphertext"))
	ca, us := newTestKey(t, "casevault-audit-ca"), newTestKey(t, "casevault-audit-us")
	in := residency.Input{
		Tenant: caFirm, Region: "ca",
		Stores: []residency.StoreInput{{Desc: residency.StoreDesc{Kind: residency.KindS3, Endpoint: caSrv.Endpoint, Bucket: caSt.Bucket()}, Store: caSt, Prefix: caFirm + "/"}},
		OtherCells: []residency.CellInput{{Region: "us", Dir: t.TempDir(), Stores: []residency.StoreInput{
			{Desc: residency.StoreDesc{Kind: residency.KindS3, Endpoint: usSrv.Endpoint, Bucket: usSt.Bucket()}, Store: usSt}}}},
		Moves: []residency.Move{},
	}
	r, err := residency.Build(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Objects, int64(1); got != want {
		t.Errorf("objects: got %d, want %d", got, want)
	}
	if got, want := r.Stores[0].List[0].SHA256, sha256Hex([]byte("ca ciphertext")); got != want {
		t.Errorf("sha256: got %s, want %s", got, want)
	}
	if got, want := r.OtherCells[0].Objects, int64(1); got != want {
		t.Errorf("us objects scanned: got %d, want %d", got, want)
	}
	signed, err := r.Sign(ca.signer)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(signed, []byte(caSrv.SecretKey)) || bytes.Contains(signed, []byte(caSrv.AccessKey)) {
		t.Errorf("the report carries the S3 credentials:\n%s", signed)
	}
	if _, err := residency.Verify(signed, []string{ca.vkey, us.vkey}); err != nil {
		t.Errorf("Verify: %v", err)
	}

	put(t, usSt, caFirm+"/doc_1/v1", []byte("left behind"))
	if _, err := residency.Build(ctx, in); err == nil {
		t.Errorf("Build with the firm's object left in the us bucket: got no error")
	} else {
		t.Logf("Build: %v", err)
	}
}
