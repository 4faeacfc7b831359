// Package s3 implements vault.BlobStore on any S3-compatible server (AWS S3,
// MinIO, versitygw, …) through github.com/minio/minio-go/v7. It is the only
// package that imports minio-go.
//
// Plain HTTP is refused unless the endpoint is a loopback address: ciphertext
// and credentials go to any other endpoint over TLS only.
package s3

import (
	"context"
	"crypto/rand"
	"io"
	"math"
	"net"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/casevault/casevault/internal/budget"
	"github.com/casevault/casevault/vault"
)

// Part sizes for multipart uploads. S3 takes parts of 5 MiB to 5 GiB.
const (
	DefaultPartSize = 8 << 20
	// DefaultStreamParts is how many parts of an upload of unknown size are
	// in memory at once: one filling from the reader while the others go up,
	// so the producer (the encrypter) never waits on the network.
	DefaultStreamParts = 3
	// DefaultUploadMemory bounds the part buffers that all Puts to one
	// store hold at once: eight uploads of unknown size with the default
	// part size and stream parts.
	DefaultUploadMemory = 8 * DefaultStreamParts * DefaultPartSize
	minPartSize         = 5 << 20
	maxPartSize         = 5 << 30
	maxParts            = 10000
)

// Config says which bucket to use and how to reach it.
type Config struct {
	Endpoint  string // host or host:port, no scheme, e.g. "s3.ca-central-1.amazonaws.com"
	Bucket    string
	AccessKey string
	SecretKey string
	// Secure selects HTTPS. Plain HTTP is allowed only to a loopback
	// endpoint (127.0.0.0/8, ::1, localhost).
	Secure bool
	Region string // e.g. "ca-central-1"; "" asks the server
	// CreateBucket creates the bucket when it is missing; otherwise a
	// missing bucket fails New.
	CreateBucket bool
	// PartSize is the multipart part size, and so the memory one Put of
	// unknown size buffers per stream part: 5 MiB to 5 GiB, default 8 MiB
	// (so an object of unknown size can reach 80 GiB in 10,000 parts).
	PartSize uint64
	// StreamParts is the number of part buffers of an upload of unknown
	// size (default 3); 1 fills and sends one part at a time.
	StreamParts int
	// UploadMemory is the most memory, in bytes, that the part buffers of
	// all Puts to this store may take at once (default
	// DefaultUploadMemory). A Put that would go over waits until earlier
	// ones finish, so many uploads at once queue instead of exhausting the
	// server's memory; a Put that needs more than all of it runs alone.
	UploadMemory int64
}

// Store is a vault.BlobStore on one S3 bucket. It is safe for concurrent use.
type Store struct {
	client   *minio.Client
	checked  *minio.Client // PutChecked's: trailing headers on
	core     minio.Core
	bucket   string
	partSize uint64
	streams  int
	// uploads bounds the part-buffer memory of the Puts in progress.
	uploads *budget.Budget
}

var _ vault.BlobStore = (*Store)(nil)

// New connects to cfg's server and checks the bucket, creating it when
// missing and cfg.CreateBucket is set.
// Errors: invalid (bad config, plain HTTP to a non-loopback endpoint),
// not_found (bucket missing), unavailable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Invalid S3 configuration.")
	}
	// PutChecked's own client: with trailing headers, minio-go sends a
	// checksum after the bytes of a single PUT (and adds a CRC32C to every
	// upload it makes, which Put does not want).
	checked, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:          cfg.Secure,
		Region:          cfg.Region,
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Invalid S3 configuration.")
	}
	s := &Store{client: client, checked: checked, core: minio.Core{Client: client}, bucket: cfg.Bucket, partSize: partSize, streams: cfg.StreamParts}
	if s.streams <= 0 {
		s.streams = DefaultStreamParts
	}
	uploadMemory := cfg.UploadMemory
	if uploadMemory <= 0 {
		uploadMemory = DefaultUploadMemory
	}
	s.uploads = budget.New(uploadMemory)

	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, mapError(err, "Cannot reach the S3 bucket.")
	}
	if ok {
		return s, nil
	}
	if !cfg.CreateBucket {
		return nil, vault.Errorf(vault.ENOTFOUND, "S3 bucket %q does not exist (set CreateBucket to create it).", cfg.Bucket)
	}
	err = client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
	if err != nil && s3Code(err) != minio.BucketAlreadyOwnedByYou {
		return nil, mapError(err, "Cannot create the S3 bucket.")
	}
	return s, nil
}

func (cfg Config) validate() error {
	switch {
	case cfg.Endpoint == "":
		return vault.Errorf(vault.EINVALID, "S3 endpoint is not set.")
	case strings.Contains(cfg.Endpoint, "://"), strings.Contains(cfg.Endpoint, "/"):
		return vault.Errorf(vault.EINVALID, "S3 endpoint must be host or host:port, without scheme or path; use Secure for HTTPS.")
	case cfg.Bucket == "":
		return vault.Errorf(vault.EINVALID, "S3 bucket is not set.")
	case s3utils.CheckValidBucketNameStrict(cfg.Bucket) != nil:
		return vault.WrapError(vault.EINVALID, s3utils.CheckValidBucketNameStrict(cfg.Bucket), "Invalid S3 bucket name.")
	case cfg.AccessKey == "" || cfg.SecretKey == "":
		return vault.Errorf(vault.EINVALID, "S3 access key and secret key are required.")
	case !cfg.Secure && !IsLoopback(cfg.Endpoint):
		return vault.Errorf(vault.EINVALID, "Refusing plain HTTP to S3 endpoint %q: it is not a loopback address; use Secure (TLS).", cfg.Endpoint)
	case cfg.PartSize != 0 && (cfg.PartSize < minPartSize || cfg.PartSize > maxPartSize):
		return vault.Errorf(vault.EINVALID, "S3 part size must be between 5 MiB and 5 GiB.")
	}
	return nil
}

// IsLoopback reports whether endpoint (host or host:port) names the loopback
// interface: localhost, 127.0.0.0/8 or ::1. Names other than localhost are
// not resolved.
func IsLoopback(endpoint string) bool {
	host := endpoint
	if h, _, err := net.SplitHostPort(endpoint); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Client returns the underlying minio-go client, for benchmarks and tests
// that compare against raw S3 calls.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket returns the name of the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Put stores the bytes of r under key, replacing any object already there
// atomically. With size known, the object goes up in one PUT (up to the part
// size) or in parts of the configured size; with size -1, in parts of the
// configured size, with StreamParts part buffers. A Put whose buffers would
// take the store's uploads over UploadMemory first waits, reading nothing,
// for earlier ones to finish. The stream is checked against size before its
// last byte is sent, so a mismatch fails the upload instead of storing it; a
// failed multipart upload is aborted (minio-go does this itself, even when
// ctx is cancelled).
// Errors: invalid (bad key, size mismatch), unavailable (server, cancelled
// context), or the code of r's error (internal when it has none).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	if size < 0 {
		// The body goes up unsigned (UNSIGNED-PAYLOAD, as minio-go always
		// sends it over TLS): over plain HTTP, which only a loopback
		// endpoint is allowed, a signed stream would cost a SHA-256 of
		// every byte on both sides and protect nothing the parts'
		// authentication does not (a changed byte fails decryption).
		n, _, err := s.put(ctx, s.client, key, r, size, 0, minio.PutObjectOptions{DisableContentSha256: true})
		return n, err
	}
	// With its size known, an object goes up as PutChecked's do: with a
	// full-object CRC64NVME that the server checks and keeps (a scrub
	// compares two sites by it without reading them), and its body
	// unsigned, which spares a SHA-256 of every byte on both sides.
	opts := minio.PutObjectOptions{Checksum: minio.ChecksumCRC64NVME, DisableContentSha256: true}
	n, _, err := s.put(ctx, s.checked, key, r, size, 0, opts)
	return n, err
}

// put is Put through client with opts (ContentType, PartSize and the
// stream settings are set here), and returns what the server answered.
// With knownStreams > 1, an object of known size larger than a part goes
// up from that many part buffers at once, as one of unknown size does
// from StreamParts: reading the next part overlaps sending the others.
func (s *Store) put(ctx context.Context, client *minio.Client, key string, r io.Reader, size int64, knownStreams int, opts minio.PutObjectOptions) (int64, minio.UploadInfo, error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return 0, minio.UploadInfo{}, err
	}
	if size < -1 {
		return 0, minio.UploadInfo{}, vault.Errorf(vault.EINVALID, "Invalid object size.")
	}
	if err := ctx.Err(); err != nil {
		return 0, minio.UploadInfo{}, ctxError(err)
	}
	opts.ContentType = "application/octet-stream"
	opts.PartSize = s.partSizeFor(size)
	// Known sizes go up in parallel only in parts of the configured size
	// (objects up to 10,000 parts): minio-go would otherwise pick parts of
	// ~512 MiB for each buffer.
	streams := 0
	switch {
	case size < 0 && s.streams > 1:
		streams = s.streams
	case size >= 0 && knownStreams > 1 && uint64(size) > s.partSize && opts.PartSize == s.partSize:
		streams = knownStreams
	}
	if need := s.bufferMemory(size, streams); need > 0 {
		if err := s.uploads.Acquire(ctx, need); err != nil {
			return 0, minio.UploadInfo{}, ctxError(err)
		}
		defer s.uploads.Release(need)
	}
	src := &putReader{ctx: ctx, r: r, size: size}
	if streams > 1 {
		// Fixed buffers, filled in turn and uploaded in parallel: memory
		// stays at streams × part size.
		opts.ConcurrentStreamParts, opts.NumThreads = true, uint(streams)
	}
	if size == 0 {
		// minio-go sends no body for an empty object and so never reads r.
		if err := src.probe(); err != nil {
			return 0, minio.UploadInfo{}, src.error()
		}
	}
	info, err := client.PutObject(ctx, s.bucket, key, src, size, opts)
	if err == nil && size >= 0 && !src.done {
		// minio-go stopped reading at size without our seeing r's end; it
		// does not today, but never keep an object of the wrong size.
		if perr := src.probe(); perr != nil {
			_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		}
	}
	if src.err != nil {
		// Whatever minio-go made of it, the cause is the source (or ctx).
		return 0, minio.UploadInfo{}, src.error()
	}
	if err != nil {
		return 0, minio.UploadInfo{}, mapError(err, "Cannot store the object.")
	}
	if size >= 0 && info.Size != size {
		// Cannot happen with the checks in putReader; never keep it if it does.
		_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		return 0, minio.UploadInfo{}, vault.Errorf(vault.EINTERNAL, "Stored object size %d differs from %d.", info.Size, size)
	}
	return src.n, info, nil
}

// UploadMemory reports the store's upload memory budget: its limit, what
// Puts hold now, and how many wait for it.
func (s *Store) UploadMemory() vault.MemoryBudget {
	return s.uploads.Report()
}

// bufferMemory returns the bytes of part buffers minio-go holds for a Put
// of size bytes (-1: unknown) from streams part buffers at once (0 or 1:
// one at a time), at most the store's whole UploadMemory.
func (s *Store) bufferMemory(size int64, streams int) int64 {
	var need int64
	switch {
	case size >= 0 && uint64(size) <= s.partSize:
		return 0 // one PUT, streamed from the reader
	case streams > 1:
		need = int64(streams) * int64(s.partSize)
	case size >= 0:
		need = int64(s.partSize) // one buffer, filled and sent in turn
		if s.partSizeFor(size) == 0 {
			// minio-go's own part size for objects too big for ours.
			if _, p, _, err := minio.OptimalPartInfo(size, 0); err == nil {
				need = p
			}
		}
	default:
		need = int64(s.partSize)
	}
	return min(need, s.uploads.Limit())
}

// partSizeFor returns the part size to ask minio-go for: the configured one
// for an unknown size (minio-go would otherwise buffer parts of ~512 MiB),
// and for a known size whenever it fits in 10,000 parts; 0 (minio-go's own
// choice, from the size) for objects too big for that.
func (s *Store) partSizeFor(size int64) uint64 {
	if size < 0 {
		return s.partSize
	}
	if uint64(size) <= s.partSize {
		return 0 // a single PUT; minio-go refuses a part size above the size
	}
	if uint64(size) <= s.partSize*maxParts {
		return s.partSize
	}
	return 0
}

// Get returns length bytes of key from offset, or the rest of the object when
// length < 0 or the range runs past the end. offset == size yields no bytes.
// The request is made before Get returns, so a missing key is reported here,
// not by the first Read. Errors: invalid (bad key, offset < 0 or beyond the
// end), not_found, unavailable; Read reports unavailable or internal.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, vault.Errorf(vault.EINVALID, "Invalid range.")
	}
	if length == 0 {
		return s.emptyRange(ctx, key, offset)
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0 && length <= math.MaxInt64-offset:
		err := opts.SetRange(offset, offset+length-1)
		if err != nil {
			return nil, vault.WrapError(vault.EINVALID, err, "Invalid range.")
		}
	case offset > 0:
		if err := opts.SetRange(offset, 0); err != nil { // bytes=offset-
			return nil, vault.WrapError(vault.EINVALID, err, "Invalid range.")
		}
	}
	body, _, _, err := s.core.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		if s3Code(err) == minio.InvalidRange {
			// Either offset == size (no bytes, which S3 cannot express as a
			// range) or beyond it.
			return s.emptyRange(ctx, key, offset)
		}
		return nil, mapError(err, "Cannot read the object.")
	}
	return &objectReader{body: body}, nil
}

// emptyRange answers a Get that yields no bytes: still not_found for a missing
// key and invalid for an offset beyond the end.
func (s *Store) emptyRange(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if offset > info.Size {
		return nil, vault.Errorf(vault.EINVALID, "The range starts beyond the end of the object.")
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// Stat returns the size and modification time of key.
// Errors: invalid (bad key), not_found, unavailable.
func (s *Store) Stat(ctx context.Context, key string) (vault.BlobInfo, error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return vault.BlobInfo{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return vault.BlobInfo{}, mapError(err, "Cannot read the object.")
	}
	return vault.BlobInfo{Key: key, Size: info.Size, ModTime: info.LastModified.UTC()}, nil
}

// Delete removes key; a missing key is not an error.
// Errors: invalid (bad key), unavailable.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := vault.CheckBlobKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && s3Code(err) != minio.NoSuchKey {
		if vault.IsCode(mapError(err, ""), vault.ENOTFOUND) { // the bucket is gone
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot delete the object.")
		}
		return mapError(err, "Cannot delete the object.")
	}
	return nil
}

// List calls fn for each object whose key starts with prefix, in the
// server's order (byte order of keys on S3), stopping at and returning fn's
// first error unchanged. Objects whose names are not blob keys (put there by
// something else) are skipped. Errors: invalid (bad prefix), unavailable.
func (s *Store) List(ctx context.Context, prefix string, fn func(vault.BlobInfo) error) error {
	if !vault.ValidBlobPrefix(prefix) {
		return vault.Errorf(vault.EINVALID, "Invalid blob key prefix.")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing when fn stops us early
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			if vault.IsCode(mapError(obj.Err, ""), vault.ENOTFOUND) {
				return vault.WrapError(vault.EUNAVAILABLE, obj.Err, "The S3 bucket is missing.")
			}
			return mapError(obj.Err, "Cannot list objects.")
		}
		if !vault.ValidBlobKey(obj.Key) {
			continue
		}
		if err := fn(vault.BlobInfo{Key: obj.Key, Size: obj.Size, ModTime: obj.LastModified.UTC()}); err != nil {
			return err
		}
	}
	return ctxErrorOrNil(ctx)
}

// Ping checks that the bucket exists and takes an object, by writing and
// deleting one whose name is no blob key, so List never shows it.
// Errors: unavailable.
func (s *Store) Ping(ctx context.Context) error {
	name := ".ping-" + strings.ToLower(rand.Text())
	_, err := s.client.PutObject(ctx, s.bucket, name, strings.NewReader("ping"), 4, minio.PutObjectOptions{})
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "S3 bucket is not writable.")
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "S3 bucket is not writable.")
	}
	return nil
}

// objectReader maps the errors of a GET body to vault errors.
type objectReader struct {
	body io.ReadCloser
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.body.Read(p)
	if err != nil && err != io.EOF {
		err = mapError(err, "Cannot read the object.")
	}
	return n, err
}

func (o *objectReader) Close() error { return o.body.Close() }

// ctxErrorOrNil reports a cancelled or expired parent context: minio-go ends
// a listing early then without an error, and a silently short listing would
// pass for a complete one.
func ctxErrorOrNil(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	return nil
}
