// Package backup backs up a cell's SQLite databases continuously with
// Litestream, as a library, to a vault.BlobStore of the cell's region, and
// restores them. Litestream writes plain LTX files (pages of the database);
// Client, its replica client, encrypts every one under the region's backup
// key before it reaches the store (docs/BACKUP-FORMAT.md).
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// Database names: the only names that appear in object keys.
const (
	DBMetadata = "casevault"
	DBAudit    = "audit"
)

// ClientType is what Client.Type returns.
const ClientType = "casevault-encrypted"

// Client is a litestream.ReplicaClient that stores each LTX file of one
// database, encrypted, as one object of a blob store under
// PREFIX/DB/LEVEL/MIN-MAX-CREATED: TXIDs as 16 hex digits, the LTX header's
// timestamp as Unix milliseconds. Everything Litestream lists is in the
// key, so listing reads no object; the plaintext size follows from the
// ciphertext size.
type Client struct {
	store  vault.BlobStore
	key    *keys.BackupKey
	db     string
	prefix string // "" or ending in "/"
	logger *slog.Logger
}

var _ litestream.ReplicaClient = (*Client)(nil)

// NewClient returns the replica client of database db ("casevault" or
// "audit") of key's region in store, under prefix ("" for none).
// Errors: invalid.
func NewClient(store vault.BlobStore, key *keys.BackupKey, db, prefix string) (*Client, error) {
	if db != DBMetadata && db != DBAudit {
		return nil, vault.Errorf(vault.EINVALID, "Unknown backup database %q.", db)
	}
	if prefix != "" {
		prefix = strings.TrimSuffix(prefix, "/") + "/"
		if !vault.ValidBlobPrefix(prefix) {
			return nil, vault.Errorf(vault.EINVALID, "Invalid backup prefix.")
		}
	}
	return &Client{store: store, key: key, db: db, prefix: prefix, logger: slog.Default()}, nil
}

// Type returns ClientType.
func (c *Client) Type() string { return ClientType }

// Init does nothing: the store is open.
func (c *Client) Init(context.Context) error { return nil }

// SetLogger sets the logger Litestream passes.
func (c *Client) SetLogger(l *slog.Logger) { c.logger = l }

// levelPrefix is the key prefix of one level's objects.
func (c *Client) levelPrefix(level int) string {
	return c.prefix + c.db + "/" + strconv.Itoa(level) + "/"
}

// rangePrefix is the key prefix of the objects of one TXID range.
func (c *Client) rangePrefix(level int, minTXID, maxTXID ltx.TXID) string {
	return c.levelPrefix(level) + minTXID.String() + "-" + maxTXID.String() + "-"
}

// objectKey is the key of one object.
func (c *Client) objectKey(o keys.BackupObject) string {
	return c.rangePrefix(o.Level, ltx.TXID(o.MinTXID), ltx.TXID(o.MaxTXID)) + fmt.Sprintf("%013d", o.CreatedMS)
}

// object is one listed object.
type object struct {
	key  string
	o    keys.BackupObject
	size int64 // ciphertext
}

// parseKey reads an object key of level; ok is false for anything else.
func (c *Client) parseKey(level int, key string) (keys.BackupObject, bool) {
	rest, ok := strings.CutPrefix(key, c.levelPrefix(level))
	if !ok {
		return keys.BackupObject{}, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 {
		return keys.BackupObject{}, false
	}
	minTXID, err1 := ltx.ParseTXID(parts[0])
	maxTXID, err2 := ltx.ParseTXID(parts[1])
	ms, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || ms < 0 || minTXID > maxTXID {
		return keys.BackupObject{}, false
	}
	return keys.BackupObject{DB: c.db, Level: level, MinTXID: uint64(minTXID), MaxTXID: uint64(maxTXID), CreatedMS: ms}, true
}

// list returns the objects under prefix of level in key order; of objects
// of the same TXID range (a write retried), only the newest.
func (c *Client) list(ctx context.Context, level int, prefix string) ([]object, error) {
	var out []object
	err := c.store.List(ctx, prefix, func(bi vault.BlobInfo) error {
		o, ok := c.parseKey(level, bi.Key)
		if !ok {
			return nil
		}
		if n := len(out); n > 0 && out[n-1].o.MinTXID == o.MinTXID && out[n-1].o.MaxTXID == o.MaxTXID {
			out = out[:n-1] // keys of one range sort by time: 13 digits, zero-padded
		}
		out = append(out, object{key: bi.Key, o: o, size: bi.Size})
		return nil
	})
	return out, err
}

// LTXFiles lists level's LTX files from seek on, in TXID order, with their
// plaintext sizes and creation times, reading no object.
func (c *Client) LTXFiles(ctx context.Context, level int, seek ltx.TXID, _ bool) (ltx.FileIterator, error) {
	objs, err := c.list(ctx, level, c.levelPrefix(level))
	if err != nil {
		return nil, err
	}
	infos := make([]*ltx.FileInfo, 0, len(objs))
	for _, ob := range objs {
		if ltx.TXID(ob.o.MinTXID) < seek {
			continue
		}
		size, err := c.key.PlainSize(ob.size)
		if err != nil {
			return nil, fmt.Errorf("backup object %s: %w", ob.key, err)
		}
		infos = append(infos, &ltx.FileInfo{
			Level: level, MinTXID: ltx.TXID(ob.o.MinTXID), MaxTXID: ltx.TXID(ob.o.MaxTXID),
			Size: size, CreatedAt: time.UnixMilli(ob.o.CreatedMS).UTC(),
		})
	}
	return ltx.NewFileInfoSliceIterator(infos), nil
}

// find returns the object of one TXID range. Errors: wrap os.ErrNotExist
// when there is none, as Litestream expects.
func (c *Client) find(ctx context.Context, level int, minTXID, maxTXID ltx.TXID) (object, error) {
	objs, err := c.list(ctx, level, c.rangePrefix(level, minTXID, maxTXID))
	if err != nil {
		return object{}, err
	}
	if len(objs) == 0 {
		return object{}, fmt.Errorf("backup object %s: %w", ltx.FormatFilename(minTXID, maxTXID), os.ErrNotExist)
	}
	return objs[len(objs)-1], nil
}

// OpenLTXFile returns size plaintext bytes (0: to the end) of an LTX file
// from offset, decrypting only the parts they lie in.
func (c *Client) OpenLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, offset, size int64) (io.ReadCloser, error) {
	ob, err := c.find(ctx, level, minTXID, maxTXID)
	if err != nil {
		return nil, err
	}
	length := int64(-1)
	if size > 0 {
		length = size
		if plain, err := c.key.PlainSize(ob.size); err == nil && offset+length > plain {
			length = max(plain-offset, 0) // a range past the end is cut there, as a file is
		}
	}
	fetch := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		rc, err := c.store.Get(ctx, ob.key, off, n)
		if vault.IsCode(err, vault.ENOTFOUND) {
			return nil, fmt.Errorf("%w: %w", os.ErrNotExist, err)
		}
		return rc, err
	}
	return c.key.DecryptRange(ctx, ob.o, ob.size, offset, length, fetch)
}

// WriteLTXFile encrypts the LTX file r yields and stores it. Its creation
// time is the LTX header's timestamp, as Litestream's own clients record.
func (c *Client) WriteLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, r io.Reader) (*ltx.FileInfo, error) {
	hdr, r, err := ltx.PeekHeader(r)
	if err != nil {
		return nil, fmt.Errorf("read ltx header: %w", err)
	}
	o := keys.BackupObject{DB: c.db, Level: level, MinTXID: uint64(minTXID), MaxTXID: uint64(maxTXID), CreatedMS: max(hdr.Timestamp, 0)}
	key := c.objectKey(o)
	pr, pw := io.Pipe()
	type sealed struct {
		plain int64
		err   error
	}
	done := make(chan sealed, 1)
	go func() {
		plain, _, err := c.key.Encrypt(ctx, o, r, pw)
		pw.CloseWithError(err)
		done <- sealed{plain, err}
	}()
	_, err = c.store.Put(ctx, key, pr, -1)
	pr.CloseWithError(errors.New("backup: put ended"))
	s := <-done
	if err == nil {
		err = s.err
	}
	if err != nil {
		return nil, err
	}
	// A retried write of the same range leaves an older object: drop it
	// (best effort: listing keeps only the newest anyway).
	var stale []string
	_ = c.store.List(ctx, c.rangePrefix(level, minTXID, maxTXID), func(bi vault.BlobInfo) error {
		if bi.Key != key {
			stale = append(stale, bi.Key)
		}
		return nil
	})
	for _, k := range stale {
		_ = c.store.Delete(ctx, k)
	}
	return &ltx.FileInfo{Level: level, MinTXID: minTXID, MaxTXID: maxTXID, Size: s.plain,
		CreatedAt: time.UnixMilli(o.CreatedMS).UTC()}, nil
}

// DeleteLTXFiles deletes the objects of the given files; missing ones are
// not an error.
func (c *Client) DeleteLTXFiles(ctx context.Context, a []*ltx.FileInfo) error {
	for _, info := range a {
		var dels []string
		err := c.store.List(ctx, c.rangePrefix(info.Level, info.MinTXID, info.MaxTXID), func(bi vault.BlobInfo) error {
			dels = append(dels, bi.Key)
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range dels {
			if err := c.store.Delete(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteAll deletes every object of the database.
func (c *Client) DeleteAll(ctx context.Context) error {
	var dels []string
	if err := c.store.List(ctx, c.prefix+c.db+"/", func(bi vault.BlobInfo) error {
		dels = append(dels, bi.Key)
		return nil
	}); err != nil {
		return err
	}
	slices.Sort(dels)
	for _, k := range dels {
		if err := c.store.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
