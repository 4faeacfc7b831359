// Package celllog splits the process log between the operator's service
// stream and the cells: a line about a firm (it has a tenant_id) is written
// whole to that firm's cell log file, CELL/log/casevault.log, and to the
// service stream with every firm id, email and firm-owned value replaced by
// Placeholder and a "cell" member naming the firm's region. Lines about no
// firm pass to the service stream as they are (scrubbed of anything
// id- or email-shaped). So the service log, which may leave the region,
// holds no firm's data, and each cell keeps its own firms' lines.
package celllog

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// DefaultMaxLine bounds a line in the service stream: a longer one is
// replaced there by a short line naming its level, time, message and size
// (the cell file still gets it whole).
const DefaultMaxLine = 64 << 10

// Resolver returns the region of firm tenantID, ok false when the
// directory does not know it.
type Resolver func(tenantID string) (region string, ok bool)

// Writer is the io.Writer of the root zerolog logger. zerolog writes one
// whole JSON line per Write, which is what Writer expects; it is safe for
// concurrent use.
type Writer struct {
	service io.Writer
	// cellDir returns the cell directory of region, ok false when this
	// process does not serve it (its lines go to no file).
	cellDir func(region string) (dir string, ok bool)

	// MaxLine bounds a line in the service stream (DefaultMaxLine when 0).
	MaxLine int
	// MaxFileBytes rotates a cell file when a write would take it past
	// this size (0: never); Keep old files are kept (casevault.log.1 the
	// newest).
	MaxFileBytes int64
	Keep         int

	regionOf atomic.Pointer[Resolver]

	mu    sync.Mutex // serializes writes and guards files
	files map[string]*cellFile
}

// New returns a Writer whose service stream is service (the process's
// stderr) and whose cell files sit under cellDir(region)/log. Until
// SetResolver is called, no line reaches a cell file: a firm's lines are
// only redacted.
func New(service io.Writer, cellDir func(region string) (string, bool)) *Writer {
	return &Writer{service: service, cellDir: cellDir, Keep: 3, files: make(map[string]*cellFile)}
}

// SetResolver sets the directory lookup of a firm's region. Main sets it
// once the directory is open.
func (w *Writer) SetResolver(fn Resolver) { w.regionOf.Store(&fn) }

// Write routes one log line. It reports len(p) written once the service
// stream has its copy; a cell file that cannot be written is reported as
// an error after the service copy is written (zerolog reports that on
// stderr, naming the file, not the line).
func (w *Writer) Write(p []byte) (int, error) {
	if !mayHoldFirmData(p) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.service.Write(p)
	}
	line := bytes.TrimRight(p, "\n")
	fields, _ := scanFields(line)
	tenant, conflict := "", false
	for _, f := range fields {
		if f.key != "tenant_id" {
			continue
		}
		switch v := stringValue(line, f); {
		case v == "" || v == tenant:
		case tenant == "":
			tenant = v
		default:
			conflict = true // a line naming two firms goes to neither
		}
	}
	firmLine := tenant != ""
	region, dir, toCell := "", "", false
	if firmLine && !conflict {
		if fn := w.regionOf.Load(); fn != nil {
			var ok bool
			if region, ok = (*fn)(tenant); ok {
				dir, toCell = w.cellDir(region)
			} else {
				region = ""
			}
		}
	}
	out := redact(make([]byte, 0, len(line)+32), line, fields, firmLine, region)
	if maxLine := w.maxLine(); len(out) > maxLine {
		out = tooLong(line, fields, region, len(p))
	}
	out = append(out, '\n')

	w.mu.Lock()
	defer w.mu.Unlock()
	var cerr error
	if toCell {
		cerr = w.writeCell(region, dir, p)
	}
	if _, err := w.service.Write(out); err != nil {
		return 0, err
	}
	return len(p), cerr
}

func (w *Writer) maxLine() int {
	if w.MaxLine > 0 {
		return w.MaxLine
	}
	return DefaultMaxLine
}

// tooLong is the short service line that stands for a line over MaxLine.
func tooLong(line []byte, fields []field, region string, size int) []byte {
	b := []byte{'{'}
	for _, f := range fields {
		if (f.key == "level" || f.key == "time" || f.key == "component") && f.end-f.start <= 64 {
			b = append(b, '"')
			b = append(b, f.key...)
			b = append(b, `":`...)
			b = append(b, line[f.start:f.end]...)
			b = append(b, ',')
		}
	}
	b = append(b, `"message":"log line too long for the service log","line_bytes":`...)
	b = appendInt(b, size)
	if region != "" {
		b = append(b, `,"cell":`...)
		b = append(b, quote(region)...)
	}
	return append(b, '}')
}

func appendInt(b []byte, n int) []byte {
	if n == 0 {
		return append(b, '0')
	}
	var d [20]byte
	i := len(d)
	for ; n > 0; n /= 10 {
		i--
		d[i] = byte('0' + n%10)
	}
	return append(b, d[i:]...)
}

// Close closes the cell files. A Write after Close reopens them.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for region, f := range w.files {
		errs = append(errs, f.close())
		delete(w.files, region)
	}
	return errors.Join(errs...)
}
