package s3test_test

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault/s3/s3test"
)

// TestServer_RestartEmpty: a killed MinIO comes back on the same endpoint
// with the same credentials and nothing of what it held.
func TestServer_RestartEmpty(t *testing.T) {
	ctx := context.Background()
	srv := s3test.MinIO(t)
	endpoint := srv.Endpoint
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	bucket := s3test.NewBucketName(t.Name())
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BucketExists(ctx, bucket); err == nil {
		t.Fatal("a killed server answered")
	}
	if err := srv.RestartEmpty(); err != nil {
		t.Fatal(err)
	}
	if got := srv.Endpoint; got != endpoint {
		t.Errorf("endpoint: got %s, want %s", got, endpoint)
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil || ok {
		t.Errorf("bucket after RestartEmpty: exists %v, %v; want false, nil", ok, err)
	}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
		t.Errorf("MakeBucket after RestartEmpty: %v", err)
	}
}
