package residency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// regionName is what a region's name looks like (config's rule).
var regionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// StoreInput is one blob store given to Build: how the report describes it,
// the store, and the prefix of the keys to read (the firm's id and "/" for the
// firm's own stores, "" for every object of another cell's store).
type StoreInput struct {
	Desc   StoreDesc
	Store  vault.BlobStore
	Prefix string
}

// CellInput is another served cell, to be scanned for the firm: its
// directory (every regular file below it), any files of the cell kept
// outside it, and its stores.
type CellInput struct {
	Region string
	Dir    string   // "" when the cell has no directory of its own
	Files  []string // the cell's files outside Dir, if any
	Stores []StoreInput
}

// Input is what Build needs to state a firm's residency.
type Input struct {
	Tenant string       // the firm's id
	Region string       // the firm's region
	Stores []StoreInput // the stores of the firm's cell, Prefix the firm's key prefix
	// OtherCells are every other cell this server serves.
	OtherCells []CellInput
	// Needles are looked for in every other cell: the firm's emails,
	// marker strings… The firm's id is always looked for; Build adds it.
	Needles [][]byte
	// Moves are the firm's moves between regions, oldest first, all
	// finished; the last one's To is Region.
	Moves []Move
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// FoundError is the error of Build when a scan of another cell finds
// something of the firm. Hits are the first hits, at most MaxHits.
type FoundError struct {
	Tenant  string
	Region  string // the cell scanned
	Hits    []Hit
	Dropped int64 // hits found beyond those listed
}

func (e *FoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d hit(s) in region %s:", e.Count(), e.Region)
	for i, h := range e.Hits {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", e.Count()-5)
			break
		}
		b.WriteString(" " + h.String() + ";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Count returns how many hits were found, listed or not.
func (e *FoundError) Count() int64 { return int64(len(e.Hits)) + e.Dropped }

// Build reads every object of the firm in its stores (key, size, SHA-256),
// scans every other cell for the firm, and returns the report. It fails
// when a scan finds anything (a *FoundError, code conflict), so a report
// always says "nothing found". Errors: invalid (bad input), conflict
// (something of the firm found elsewhere), those of the stores, and
// unavailable (a file that cannot be read).
func Build(ctx context.Context, in Input) (*Report, error) {
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	if err := checkInput(in, now); err != nil {
		return nil, err
	}
	r := &Report{
		Format: Format, Tenant: in.Tenant, Region: in.Region,
		Stores: []FirmStore{}, OtherCells: []Cell{}, Moves: []Move{},
	}
	for _, si := range in.Stores {
		fs, err := listFirm(ctx, si)
		if err != nil {
			return nil, err
		}
		r.Objects += fs.Objects
		r.Bytes += fs.Bytes
		r.Stores = append(r.Stores, fs)
	}
	r.ObjectsSHA256 = ObjectsDigest(r.Stores)

	needles := append([][]byte{[]byte(in.Tenant)}, in.Needles...)
	for _, c := range in.OtherCells {
		cell, err := scanCell(ctx, in.Tenant, c, needles)
		if err != nil {
			return nil, err
		}
		r.OtherCells = append(r.OtherCells, cell)
	}
	for _, m := range in.Moves {
		m.Started, m.Finished = Time{m.Started.UTC()}, Time{m.Finished.UTC()}
		r.Moves = append(r.Moves, m)
	}
	r.GeneratedAt = Time{now().UTC()}
	if err := r.check(); err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Residency report of firm %s: %v.", in.Tenant, err)
	}
	return r, nil
}

// checkInput checks Build's input before anything is read: what the
// result cannot show was wrong, and what would fail it.
func checkInput(in Input, now func() time.Time) error {
	switch {
	case in.Tenant == "":
		return vault.Errorf(vault.EINVALID, "Residency report: no firm id.")
	case !regionName.MatchString(in.Region):
		return vault.Errorf(vault.EINVALID, "Residency report: %q is not a region name.", in.Region)
	case len(in.Stores) == 0:
		return vault.Errorf(vault.EINVALID, "Residency report: firm %s's cell has no store.", in.Tenant)
	}
	for _, si := range in.Stores {
		if !vault.ValidBlobPrefix(si.Prefix) || !strings.HasSuffix("/"+si.Prefix, "/"+in.Tenant+"/") {
			return vault.Errorf(vault.EINVALID, "Residency report: store %s needs the firm's key prefix %s/, not %q.", si.Desc, in.Tenant, si.Prefix)
		}
		if si.Store == nil {
			return vault.Errorf(vault.EINVALID, "Residency report: store %s is missing.", si.Desc)
		}
	}
	seen := map[string]bool{in.Region: true}
	for _, c := range in.OtherCells {
		if !regionName.MatchString(c.Region) || seen[c.Region] {
			return vault.Errorf(vault.EINVALID, "Residency report: other cell %q is no region, the firm's own or listed twice.", c.Region)
		}
		seen[c.Region] = true
		if c.Dir == "" && len(c.Files) == 0 && len(c.Stores) == 0 {
			return vault.Errorf(vault.EINVALID, "Residency report: cell %s has nothing to scan.", c.Region)
		}
		for _, si := range c.Stores {
			if si.Store == nil || !vault.ValidBlobPrefix(si.Prefix) {
				return vault.Errorf(vault.EINVALID, "Residency report: store %s of cell %s is missing or has a bad prefix.", si.Desc, c.Region)
			}
		}
	}
	for i, n := range in.Needles {
		if len(n) == 0 {
			return vault.Errorf(vault.EINVALID, "Residency report: needle %d is empty.", i)
		}
	}
	// The moves are checked before the long reads, against the time now;
	// Build checks them again against generated_at.
	r := &Report{Region: in.Region, Moves: in.Moves, GeneratedAt: Time{now().UTC()}}
	if err := r.checkMoves(); err != nil {
		return vault.WrapError(vault.EINVALID, err, "Residency report of firm %s: %v.", in.Tenant, err)
	}
	return nil
}

// listFirm reads every object of the firm in one of its stores.
func listFirm(ctx context.Context, si StoreInput) (FirmStore, error) {
	fs := FirmStore{StoreDesc: si.Desc, Prefix: si.Prefix, List: []Object{}}
	err := si.Store.List(ctx, si.Prefix, func(bi vault.BlobInfo) error {
		rc, err := si.Store.Get(ctx, bi.Key, 0, -1)
		if vault.IsCode(err, vault.ENOTFOUND) {
			return nil // deleted since listed
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		n, err := io.Copy(h, rc)
		if err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read object %s of store %s.", bi.Key, si.Desc)
		}
		fs.List = append(fs.List, Object{Key: bi.Key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
		fs.Objects++
		fs.Bytes += n
		return nil
	})
	if err != nil {
		return FirmStore{}, err
	}
	return fs, nil
}

// scanCell scans one other cell for needles.
func scanCell(ctx context.Context, tenant string, c CellInput, needles [][]byte) (Cell, error) {
	s, err := NewScanner(needles)
	if err != nil {
		return Cell{}, err
	}
	cell := Cell{Region: c.Region, Path: c.Dir, Stores: []ScannedStore{}, Needles: s.Needles()}
	if c.Dir != "" {
		if err := s.Dir(ctx, c.Dir); err != nil {
			return Cell{}, fmt.Errorf("scan of region %s: %w", c.Region, err)
		}
	}
	if err := s.Files(ctx, c.Files); err != nil {
		return Cell{}, fmt.Errorf("scan of region %s: %w", c.Region, err)
	}
	for _, si := range c.Stores {
		before := s.Stats()
		if err := s.Store(ctx, si.Desc.String(), si.Store, si.Prefix); err != nil {
			return Cell{}, fmt.Errorf("scan of region %s, store %s: %w", c.Region, si.Desc, err)
		}
		after := s.Stats()
		cell.Stores = append(cell.Stores, ScannedStore{StoreDesc: si.Desc, Prefix: si.Prefix,
			Objects: after.Objects - before.Objects, Bytes: after.ObjectBytes - before.ObjectBytes})
	}
	if hits := s.Hits(); len(hits) > 0 {
		fe := &FoundError{Tenant: tenant, Region: c.Region, Hits: hits, Dropped: s.Dropped()}
		return Cell{}, vault.WrapError(vault.ECONFLICT, fe, "Region %s holds %d trace(s) of firm %s, the first %s.", c.Region, fe.Count(), tenant, hits[0])
	}
	st := s.Stats()
	cell.Files, cell.FileBytes, cell.Objects, cell.ObjectBytes = st.Files, st.FileBytes, st.Objects, st.ObjectBytes
	return cell, nil
}
