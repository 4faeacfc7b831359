package celllog

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the cell log file, under CELL/log.
const FileName = "casevault.log"

// Path is the log file of the cell whose directory is cellDir.
func Path(cellDir string) string { return filepath.Join(cellDir, "log", FileName) }

// cellFile is one cell's open log file and its size.
type cellFile struct {
	path string
	f    *os.File
	size int64
}

func openCellFile(path string) (*cellFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cell log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cell log: %w", err)
	}
	// A file made by another umask or tool is made private again.
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cell log: %w", err)
	}
	return &cellFile{path: path, f: f, size: fi.Size()}, nil
}

func (c *cellFile) close() error { return c.f.Close() }

// writeCell appends p to region's cell file, rotating it first when p
// would take it past MaxFileBytes. w.mu is held.
func (w *Writer) writeCell(region, dir string, p []byte) error {
	c := w.files[region]
	if c == nil {
		var err error
		if c, err = openCellFile(Path(dir)); err != nil {
			return err
		}
		w.files[region] = c
	}
	if w.MaxFileBytes > 0 && c.size > 0 && c.size+int64(len(p)) > w.MaxFileBytes {
		if err := w.rotate(c); err != nil {
			delete(w.files, region) // the next line tries to open it again
			return err
		}
	}
	n, err := c.f.Write(p)
	c.size += int64(n)
	if err != nil {
		return fmt.Errorf("cell log: %w", err)
	}
	return nil
}

// rotate renames casevault.log to casevault.log.1 (and .1 to .2, … up to
// Keep, dropping the oldest) and reopens a fresh file.
func (w *Writer) rotate(c *cellFile) error {
	c.f.Close()
	keep := max(w.Keep, 1)
	os.Remove(fmt.Sprintf("%s.%d", c.path, keep))
	for i := keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", c.path, i), fmt.Sprintf("%s.%d", c.path, i+1))
	}
	if err := os.Rename(c.path, c.path+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cell log: %w", err)
	}
	f, err := openCellFile(c.path)
	if err != nil {
		return err
	}
	*c = *f
	return nil
}
