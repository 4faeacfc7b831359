package celllog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MoveTenant moves every line that names firm tenantID out of the log files
// of the cell at fromDir (casevault.log and its rotated files) to the end
// of the log of the cell at toDir: after a firm moved between regions, the
// old cell keeps none of its lines. Each old file is rewritten without
// them (a private temporary file renamed over it); the Writer's open files
// are closed first and reopened at the next line. A rerun finds nothing
// to move. It returns how many lines it moved.
func (w *Writer) MoveTenant(fromDir, toDir, tenantID string) (int, error) {
	if tenantID == "" || fromDir == toDir {
		return 0, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for region, f := range w.files {
		f.close()
		delete(w.files, region)
	}
	files, err := filepath.Glob(Path(fromDir) + "*")
	if err != nil {
		return 0, err
	}
	needle := []byte(tenantID)
	var moved [][]byte
	for _, p := range files {
		if strings.HasSuffix(p, ".tmp") {
			continue
		}
		lines, err := splitFile(p, needle)
		if err != nil {
			return 0, err
		}
		moved = append(moved, lines...)
	}
	if len(moved) == 0 {
		return 0, nil
	}
	to, err := openCellFile(Path(toDir))
	if err != nil {
		return 0, err
	}
	defer to.close()
	for _, l := range moved {
		if _, err := to.f.Write(l); err != nil {
			return 0, fmt.Errorf("cell log: %w", err)
		}
	}
	return len(moved), to.f.Sync()
}

// splitFile rewrites the log file at p without its lines holding needle
// and returns those lines (each ending in LF).
func splitFile(p string, needle []byte) ([][]byte, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("cell log: %w", err)
	}
	defer f.Close()
	var kept bytes.Buffer
	var out [][]byte
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			if bytes.Contains(line, needle) {
				out = append(out, line)
			} else {
				kept.Write(line)
			}
		}
		if err != nil {
			break
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, kept.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("cell log: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return nil, fmt.Errorf("cell log: %w", err)
	}
	return out, nil
}

// DropTenant removes every line that names firm tenantID from the log
// files of the cell at dir (casevault.log and its rotated files): after a
// firm was shredded, its cell keeps none of its lines. It returns how many
// lines it removed.
func (w *Writer) DropTenant(dir, tenantID string) (int, error) {
	if tenantID == "" {
		return 0, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for region, f := range w.files {
		f.close()
		delete(w.files, region)
	}
	files, err := filepath.Glob(Path(dir) + "*")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range files {
		if strings.HasSuffix(p, ".tmp") {
			continue
		}
		lines, err := splitFile(p, []byte(tenantID))
		if err != nil {
			return 0, err
		}
		n += len(lines)
	}
	return n, nil
}
