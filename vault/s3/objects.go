package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/casevault/casevault/vault"
)

// ObjectsConfig says how to reach a bucket of small whole objects (a
// firm's checkpoint sink).
type ObjectsConfig struct {
	Endpoint  string // host or host:port, no scheme
	Secure    bool   // HTTPS; plain HTTP only to a loopback endpoint
	Bucket    string
	Region    string // "" asks the server
	AccessKey string // "" with SecretKey "": anonymous requests
	SecretKey string
	// Transport, when set, carries every request (its TLS roots, its
	// dialer's rules about where it may connect).
	Transport http.RoundTripper
}

// Objects puts, lists and reads small whole objects of one bucket. Unlike
// Store it holds no document ciphertext: it is for the checkpoints a firm
// keeps in a bucket of its own, and for the verifier that reads them back.
type Objects struct {
	client *minio.Client
	bucket string
}

// NewObjects returns an Objects on cfg's bucket; it makes no request.
// Errors: invalid.
func NewObjects(cfg ObjectsConfig) (*Objects, error) {
	switch {
	case cfg.Endpoint == "" || strings.Contains(cfg.Endpoint, "/"):
		return nil, vault.Errorf(vault.EINVALID, "S3 endpoint must be host or host:port.")
	case s3utils.CheckValidBucketNameStrict(cfg.Bucket) != nil:
		return nil, vault.Errorf(vault.EINVALID, "Invalid S3 bucket name.")
	case !cfg.Secure && !IsLoopback(cfg.Endpoint):
		return nil, vault.Errorf(vault.EINVALID, "Refusing plain HTTP to S3 endpoint %q: it is not a loopback address.", cfg.Endpoint)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.Secure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Invalid S3 configuration.")
	}
	return &Objects{client: client, bucket: cfg.Bucket}, nil
}

// Put stores data under key, replacing any object there. Errors:
// not_found (no bucket), unavailable.
func (o *Objects) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := o.client.PutObject(ctx, o.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true})
	return mapError(err, "Cannot store the object.")
}

// List returns the keys of every object under prefix, at any depth, in
// key order. Errors: not_found (no bucket), unavailable.
func (o *Objects) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for info := range o.client.ListObjects(ctx, o.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, mapError(info.Err, "Cannot list the bucket.")
		}
		keys = append(keys, info.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// Get returns the bytes of the object key, at most max of them. Errors:
// not_found, invalid (larger than max), unavailable.
func (o *Objects) Get(ctx context.Context, key string, max int64) ([]byte, error) {
	obj, err := o.client.GetObject(ctx, o.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, mapError(err, "Cannot read the object.")
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, max+1))
	if err != nil {
		return nil, mapError(err, "Cannot read the object.")
	}
	if int64(len(b)) > max {
		return nil, vault.Errorf(vault.EINVALID, "Object %s is larger than %d bytes.", key, max)
	}
	return b, nil
}

// ErrorCode returns the S3 error code of err ("NoSuchBucket",
// "AccessDenied", …), or "" if it carries none: a message that names no
// bucket or key, safe to log.
func ErrorCode(err error) string { return s3Code(err) }

// String describes the bucket for messages.
func (o *Objects) String() string { return fmt.Sprintf("s3://%s", o.bucket) }
