package residency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/casevault/casevault/vault"
)

// MaxHits is how many hits a Scanner keeps; it counts the others
// (Dropped), so that a scan's memory stays constant however often a needle
// occurs.
const MaxHits = 1000

// readSize is the size of a scan's read buffer.
const readSize = 256 << 10

// Hit is one occurrence of a needle: in a file, in an object's bytes, or in
// an object's key.
type Hit struct {
	File   string // the file's path, for a hit in a file
	Store  string // the store's description, for a hit in an object ("" when not given)
	Key    string // the object's key, for a hit in an object or in its key
	InKey  bool   // the needle is in the key itself, not in the object's bytes
	Offset int64  // of the needle's first byte in the file, object or key
	Needle int    // the needle's index in the scan's needles
	Match  []byte // the needle
}

// String says where the hit is, e.g.
// `file /d/casevault.db-wal, offset 8192: "ten_abc" (needle 0)`.
func (h Hit) String() string {
	where := "file " + h.File
	switch {
	case h.InKey:
		where = "object key " + h.Key
	case h.File == "":
		where = "object " + h.Key
	}
	if h.File == "" && h.Store != "" {
		where += " (store " + h.Store + ")"
	}
	return fmt.Sprintf("%s, offset %d: %q (needle %d)", where, h.Offset, h.Match, h.Needle)
}

// Stats counts what a Scanner read.
type Stats struct {
	Files       int64 // regular files read
	FileBytes   int64 // bytes read from them
	Objects     int64 // objects read
	ObjectBytes int64 // bytes read from them
}

// Scanner looks for needles in files and blob stores, reading each once,
// as a stream: its memory is one buffer, whatever the sizes, and a needle
// that straddles two reads is found. A Scanner is not safe for concurrent
// use.
type Scanner struct {
	needles [][]byte
	keep    int // bytes kept from one read to the next: longest needle - 1
	buf     []byte
	stats   Stats
	hits    []Hit
	dropped int64
}

// NewScanner returns a Scanner for needles. Errors: invalid (no needles, or
// an empty one).
func NewScanner(needles [][]byte) (*Scanner, error) {
	if len(needles) == 0 {
		return nil, vault.Errorf(vault.EINVALID, "A scan needs at least one needle.")
	}
	longest := 0
	own := make([][]byte, len(needles))
	for i, n := range needles {
		if len(n) == 0 {
			return nil, vault.Errorf(vault.EINVALID, "Needle %d is empty.", i)
		}
		own[i] = bytes.Clone(n)
		longest = max(longest, len(n))
	}
	return &Scanner{needles: own, keep: longest - 1, buf: make([]byte, longest-1+readSize)}, nil
}

// Hits returns the hits found so far, at most MaxHits, in the order found.
func (s *Scanner) Hits() []Hit { return s.hits }

// Dropped returns how many hits were found beyond the MaxHits kept.
func (s *Scanner) Dropped() int64 { return s.dropped }

// Stats returns what the scanner has read so far.
func (s *Scanner) Stats() Stats { return s.stats }

// Needles returns how many needles the scanner looks for.
func (s *Scanner) Needles() int { return len(s.needles) }

func (s *Scanner) add(h Hit) {
	if len(s.hits) >= MaxHits {
		s.dropped++
		return
	}
	h.Match = s.needles[h.Needle]
	s.hits = append(s.hits, h)
}

// File scans one file. A file that no longer exists is skipped (a live
// server removes journals and temporary files), as is anything but a
// regular file. Errors: unavailable (cannot open or read), and ctx's.
func (s *Scanner) File(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot scan %s.", path)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	var r io.Reader
	if sqliteFile(path) {
		// Never closed: see hold.go.
		f, err := openHeld(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot scan %s.", path)
		}
		fi, err := f.Stat()
		if err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot scan %s.", path)
		}
		r = io.NewSectionReader(f, 0, fi.Size())
	} else {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot scan %s.", path)
		}
		defer f.Close()
		r = f
	}
	n, err := s.stream(ctx, r, func(off int64, i int) { s.add(Hit{File: path, Offset: off, Needle: i}) })
	s.stats.Files++
	s.stats.FileBytes += n
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot scan %s.", path)
	}
	return nil
}

// Files scans each of paths (see File).
func (s *Scanner) Files(ctx context.Context, paths []string) error {
	for _, p := range paths {
		if err := s.File(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Dir scans every regular file below dir, recursively, whatever its name:
// databases, their -wal and -shm files, journals, temporary files. Symbolic
// links are not followed. Errors: unavailable (dir or a directory below it
// cannot be read, a file cannot be read), and ctx's.
func (s *Scanner) Dir(ctx context.Context, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed during the walk
			}
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot scan %s.", path)
		}
		if err := ctx.Err(); err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Scan of %s cancelled.", dir)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return s.File(ctx, path)
	})
}

// Store scans every object of store whose key starts with prefix ("" for
// all): its key and all its bytes. name describes the store in hits. An
// object deleted between listing and reading is skipped. Errors: those of
// the store's List and Get, and ctx's.
func (s *Scanner) Store(ctx context.Context, name string, store vault.BlobStore, prefix string) error {
	return store.List(ctx, prefix, func(bi vault.BlobInfo) error {
		for i, n := range s.needles {
			for from := 0; ; {
				j := bytes.Index([]byte(bi.Key[from:]), n)
				if j < 0 {
					break
				}
				s.add(Hit{Store: name, Key: bi.Key, InKey: true, Offset: int64(from + j), Needle: i})
				from += j + 1
			}
		}
		rc, err := store.Get(ctx, bi.Key, 0, -1)
		if vault.IsCode(err, vault.ENOTFOUND) {
			return nil
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		n, err := s.stream(ctx, rc, func(off int64, i int) { s.add(Hit{Store: name, Key: bi.Key, Offset: off, Needle: i}) })
		s.stats.Objects++
		s.stats.ObjectBytes += n
		if err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read object %s.", bi.Key)
		}
		return nil
	})
}

// stream reads r to its end and calls hit for every needle occurrence,
// with its offset, returning the bytes read. Each read is searched together
// with the last keep bytes of the one before, and an occurrence is
// reported only when it ends in the new bytes, so each is reported once.
func (s *Scanner) stream(ctx context.Context, r io.Reader, hit func(off int64, needle int)) (int64, error) {
	var total, base int64 // base: offset in r of s.buf[0]
	tail := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(r, s.buf[tail:])
		window := s.buf[:tail+n]
		for i, nd := range s.needles {
			for from := 0; ; {
				j := bytes.Index(window[from:], nd)
				if j < 0 {
					break
				}
				if p := from + j; p+len(nd) > tail {
					hit(base+int64(p), i)
				}
				from += j + 1
			}
		}
		total += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		k := min(s.keep, len(window))
		copy(s.buf, window[len(window)-k:])
		base += int64(len(window) - k)
		tail = k
	}
}

// ScanFiles scans each of paths for needles (see Scanner.File) and returns
// the hits, at most MaxHits.
func ScanFiles(ctx context.Context, paths []string, needles [][]byte) ([]Hit, error) {
	s, err := NewScanner(needles)
	if err != nil {
		return nil, err
	}
	err = s.Files(ctx, paths)
	return s.Hits(), err
}

// ScanDir scans every regular file below dir for needles (see
// Scanner.Dir) and returns the hits, at most MaxHits.
func ScanDir(ctx context.Context, dir string, needles [][]byte) ([]Hit, error) {
	s, err := NewScanner(needles)
	if err != nil {
		return nil, err
	}
	err = s.Dir(ctx, dir)
	return s.Hits(), err
}

// ScanStore scans every object of store, key and bytes, for needles (see
// Scanner.Store) and returns the hits, at most MaxHits.
func ScanStore(ctx context.Context, store vault.BlobStore, needles [][]byte) ([]Hit, error) {
	s, err := NewScanner(needles)
	if err != nil {
		return nil, err
	}
	err = s.Store(ctx, "", store, "")
	return s.Hits(), err
}

// Needles returns strs as needles, for the common case of text: a firm's
// id, emails, marker strings.
func Needles(strs ...string) [][]byte {
	out := make([][]byte, len(strs))
	for i, s := range strs {
		out[i] = []byte(s)
	}
	return out
}
