// Package fs implements vault.BlobStore on a local directory: the embedded
// default, so a fresh machine runs with no S3 at all.
//
// A key maps to a file under the directory, its slashes to subdirectories.
// Put writes to a temporary file next to the final one and renames it into
// place after an fsync, so an object is either complete or absent. Because
// keys map to paths, one key cannot be a directory of another ("a" and "a/b"
// cannot both exist); Put answers invalid on such a clash. Temporary files
// start with ".", which no key may contain, so Get, Stat and List never see
// them.
package fs

import (
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/casevault/casevault/vault"
)

// copyBufferSize bounds the memory a Put uses, whatever the object's size.
const copyBufferSize = 256 << 10

// tempPrefix starts the names of files being written. "." is not a key
// character, so no key ever names one.
const tempPrefix = ".tmp-"

// Store is a vault.BlobStore that keeps objects as files under one directory.
// It is safe for concurrent use.
type Store struct {
	root string
}

var _ vault.BlobStore = (*Store)(nil)

// New returns a store rooted at dir, creating dir (mode 0700) when missing.
// Errors: invalid (empty dir, or dir is not a directory), unavailable.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, vault.Errorf(vault.EINVALID, "Blob directory is not set.")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Invalid blob directory.")
	}
	// A file in the way makes MkdirAll fail with ENOTDIR or EEXIST; Stat
	// tells that (invalid) from a disk that will not take a directory.
	mkErr := os.MkdirAll(root, 0o700)
	fi, err := os.Stat(root)
	switch {
	case err == nil && !fi.IsDir(), errors.Is(err, syscall.ENOTDIR):
		return nil, vault.Errorf(vault.EINVALID, "Blob directory is not a directory.")
	case mkErr != nil:
		return nil, vault.WrapError(vault.EUNAVAILABLE, mkErr, "Cannot create the blob directory.")
	case err != nil:
		return nil, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot open the blob directory.")
	}
	return &Store{root: root}, nil
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.root }

func (s *Store) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put stores the bytes of r under key, replacing any object already there
// atomically: readers see the old object or the new one, never a mix.
// Memory use is one fixed copy buffer. A failed or cancelled Put removes its
// temporary file and leaves the previous object, if any, in place.
// Errors: invalid (bad key, size mismatch, key clashes with a directory),
// unavailable (disk errors, cancelled context), or the code of r's error
// (internal when it has none).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (n int64, err error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return 0, err
	}
	if size < -1 {
		return 0, vault.Errorf(vault.EINVALID, "Invalid object size.")
	}
	if err := ctx.Err(); err != nil {
		return 0, ctxError(err)
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	if err := s.mkdirs(dir); err != nil {
		return 0, pathError(err, "Cannot create the object's directory.")
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return 0, pathError(err, "Cannot create the object.")
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()

	src := &readerFrom{ctx: ctx, r: r}
	var in io.Reader = src
	if size >= 0 {
		// One byte more than announced is enough to tell a long reader.
		in = io.LimitReader(src, size+1)
	}
	// writerOnly hides (*os.File).ReadFrom, so the copy goes through our
	// bounded buffer and checks ctx on every read.
	n, err = io.CopyBuffer(writerOnly{f}, in, make([]byte, copyBufferSize))
	switch {
	case src.err != nil:
		return 0, readError(src.err)
	case err != nil:
		return 0, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot write the object.")
	case size >= 0 && n != size:
		return 0, vault.Errorf(vault.EINVALID, "The object does not have its announced size.")
	}
	if err = f.Sync(); err != nil {
		return 0, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot write the object.")
	}
	closed = true
	if err = f.Close(); err != nil {
		return 0, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot write the object.")
	}
	if err = ctx.Err(); err != nil {
		return 0, ctxError(err)
	}
	if err = os.Rename(tmp, final); err != nil {
		return 0, pathError(err, "Cannot store the object.")
	}
	if err = syncDir(dir); err != nil {
		// The object is in place but may not survive a crash; a Put that
		// fails must leave nothing, so take it back out.
		_ = os.Remove(final)
		return 0, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot store the object.")
	}
	return n, nil
}

// mkdirs creates dir and its missing parents below the root, syncing each
// parent so that a new directory survives a crash along with the object.
func (s *Store) mkdirs(dir string) error {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil {
		return err
	}
	if rel == "." {
		return nil
	}
	p := s.root
	for seg := range strings.SplitSeq(rel, string(filepath.Separator)) {
		next := filepath.Join(p, seg)
		switch err := os.Mkdir(next, 0o700); {
		case err == nil:
			if err := syncDir(p); err != nil {
				return err
			}
		case !errors.Is(err, iofs.ErrExist):
			return err
		}
		p = next
	}
	return nil
}

// Get returns length bytes of key from offset, or the rest of the object when
// length < 0 or the range runs past the end. offset == size yields no bytes.
// The reader sees the object as it was when Get opened it, even if it is
// replaced or deleted meanwhile. Errors: invalid (bad key, offset < 0 or
// beyond the end), not_found, unavailable.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, vault.Errorf(vault.EINVALID, "Invalid range.")
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err)
	}
	// O_NOFOLLOW: a symlink planted in the directory is no object, and Get
	// must not follow it out of the store.
	f, err := os.OpenFile(s.path(key), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, openError(err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read the object.")
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, notFound()
	}
	if offset > fi.Size() {
		_ = f.Close()
		return nil, vault.Errorf(vault.EINVALID, "The range starts beyond the end of the object.")
	}
	n := fi.Size() - offset
	if length >= 0 && length < n {
		n = length
	}
	// A section reader reads with pread, so no seek is needed.
	return &fileReader{r: io.NewSectionReader(f, offset, n), f: f}, nil
}

// Stat returns the size and modification time of key.
// Errors: invalid (bad key), not_found, unavailable.
func (s *Store) Stat(ctx context.Context, key string) (vault.BlobInfo, error) {
	if err := vault.CheckBlobKey(key); err != nil {
		return vault.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return vault.BlobInfo{}, ctxError(err)
	}
	fi, err := os.Lstat(s.path(key))
	if err != nil {
		return vault.BlobInfo{}, openError(err)
	}
	if !fi.Mode().IsRegular() {
		return vault.BlobInfo{}, notFound()
	}
	return vault.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()}, nil
}

// Delete removes key; a missing key is not an error. Empty directories are
// left in place: removing them would race with a concurrent Put into them.
// Errors: invalid (bad key), unavailable.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := vault.CheckBlobKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	p := s.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot delete the object.")
	}
	if fi.IsDir() {
		return nil // a directory is no object
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot delete the object.")
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot delete the object.")
	}
	return nil
}

// List calls fn for each object whose key starts with prefix, in byte order
// of keys (the order S3 lists in), stopping at and returning fn's first
// error unchanged. It holds one directory listing per level of nesting in
// memory, never the whole key space. Objects put or deleted during the walk
// may or may not be seen. Errors: invalid (bad prefix), unavailable.
func (s *Store) List(ctx context.Context, prefix string, fn func(vault.BlobInfo) error) error {
	if !vault.ValidBlobPrefix(prefix) {
		return vault.Errorf(vault.EINVALID, "Invalid blob key prefix.")
	}
	// Start in the deepest directory the prefix names in full.
	rel := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		rel = prefix[:i+1]
	}
	return s.walk(ctx, rel, prefix, fn)
}

type entry struct {
	name  string
	isDir bool
	sort  string
}

// walk lists the directory for key prefix rel ("" or ending in "/").
func (s *Store) walk(ctx context.Context, rel, prefix string, fn func(vault.BlobInfo) error) error {
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	dir := s.root
	if rel != "" {
		dir = s.path(strings.TrimSuffix(rel, "/"))
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		if rel != "" && isNotExist(err) {
			return nil // removed meanwhile, or never there
		}
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot list objects.")
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if !vault.ValidBlobKeyChars(name) || name == "" {
			continue // temporary files and anything that is no key
		}
		switch {
		case de.IsDir():
			// Every key below dir "a" starts with "a/", so "a/" is where the
			// directory sorts among its siblings.
			entries = append(entries, entry{name: name, isDir: true, sort: name + "/"})
		case de.Type().IsRegular():
			entries = append(entries, entry{name: name, sort: name})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.sort, b.sort) })

	for _, e := range entries {
		key := rel + e.name
		if e.isDir {
			sub := key + "/"
			if !strings.HasPrefix(sub, prefix) && !strings.HasPrefix(prefix, sub) {
				continue
			}
			if err := s.walk(ctx, sub, prefix, fn); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, e.name))
		if err != nil {
			if isNotExist(err) {
				continue
			}
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot list objects.")
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if err := fn(vault.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()}); err != nil {
			return err
		}
	}
	return nil
}

// Ping checks that the directory exists and takes a new, synced file.
// Errors: unavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ctxError(err)
	}
	f, err := os.CreateTemp(s.root, ".ping-*")
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Blob directory is not writable.")
	}
	name := f.Name()
	defer os.Remove(name)
	_, err = f.Write([]byte("ping"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Blob directory is not writable.")
	}
	return nil
}

// readerFrom reads r, failing once ctx is done, and records r's error so that
// Put can tell a failing source from a failing disk.
type readerFrom struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *readerFrom) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

type fileReader struct {
	r *io.SectionReader
	f *os.File
}

func (r *fileReader) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r *fileReader) Close() error               { return r.f.Close() }

// syncDir fsyncs a directory, making renames and removals in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func isNotExist(err error) bool {
	return errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.ELOOP)
}

func notFound() error { return vault.Errorf(vault.ENOTFOUND, "Object not found.") }

func openError(err error) error {
	if isNotExist(err) {
		return vault.WrapError(vault.ENOTFOUND, err, "Object not found.")
	}
	return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read the object.")
}

// pathError classifies an error of creating a file or directory on the way
// to a key: a file where a directory should be (or the reverse) is a key
// clash, anything else the disk's fault.
func pathError(err error, msg string) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		return vault.WrapError(vault.EINVALID, err, "The blob key clashes with another key.")
	}
	return vault.WrapError(vault.EUNAVAILABLE, err, "%s", msg)
}

func ctxError(err error) error {
	return vault.WrapError(vault.EUNAVAILABLE, err, "The operation was cancelled.")
}

// readError keeps the code of a source's *vault.Error (a failing encrypter,
// say) and calls anything else internal.
func readError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ctxError(err)
	}
	return vault.WrapError(vault.ErrorCode(err), err, "Cannot read the data to store.")
}
