package s3test

import (
	"context"
	"testing"

	"github.com/casevault/casevault/vault/s3"
)

// Config returns an s3.Config for bucket on this server: plain HTTP to
// loopback, root credentials, CreateBucket set.
func (s *Server) Config(bucket string) s3.Config {
	return s3.Config{
		Endpoint:     s.Endpoint,
		Bucket:       bucket,
		AccessKey:    s.AccessKey,
		SecretKey:    s.SecretKey,
		Region:       Region,
		CreateBucket: true,
	}
}

// NewStore returns a store on a new bucket named after prefix (see
// NewBucketName). The bucket is left for Close to remove with the server.
func (s *Server) NewStore(tb testing.TB, prefix string) *s3.Store {
	tb.Helper()
	st, err := s3.New(context.Background(), s.Config(NewBucketName(prefix)))
	if err != nil {
		tb.Fatalf("s3.New on %s: %v", s.Kind, err)
	}
	return st
}
