package mirror

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/casevault/casevault/vault"
)

// Ref is an object the metadata references: a document version's blob,
// or a pending upload's.
type Ref struct {
	Key string
	// Size is the ciphertext size the metadata promises, -1 when unknown
	// (a pending upload).
	Size int64
	// Verify authenticates every part of the object as read from st,
	// discarding the plaintext as it goes; nil when the metadata cannot
	// tell (a pending upload). Errors: cannot_decrypt when a part (or the
	// header, or the length) is not authentic; others when it cannot be
	// read.
	Verify func(ctx context.Context, st vault.BlobStore) error
}

// ScrubOptions say what the metadata references.
type ScrubOptions struct {
	// Refs returns the objects the metadata references now, pending
	// uploads included, and the firms it speaks for. Scrub calls it after
	// listing both sites, so an object an upload stores meanwhile is
	// either listed with its record or not listed at all.
	Refs func(ctx context.Context) (refs []Ref, tenants map[string]bool, err error)
	// Grace is how old an unreferenced object must be before Scrub deletes
	// it from the one site that still holds it; default 1h.
	Grace time.Duration
	// Deep compares objects whose checksums neither site keeps by reading
	// both copies; otherwise such objects are compared by size.
	Deep bool
}

// ScrubReport is what one scrub found and did.
type ScrubReport struct {
	Region string `json:"region,omitempty"`
	// Checked counts the referenced objects compared.
	Checked int64 `json:"checked"`
	// Copied counts objects missing on one site and copied from the other.
	Copied int64 `json:"copied"`
	// Repaired counts copies found damaged (checked part by part through
	// the keys) and replaced by the good one.
	Repaired int64 `json:"repaired"`
	// Lost counts referenced objects no site holds intact.
	Lost int64 `json:"lost"`
	// LostKeys names up to 100 of them.
	LostKeys []string `json:"lost_keys,omitempty"`
	// Deleted counts unreferenced objects removed from the one site that
	// still held them (a delete that did not reach a site).
	Deleted int64 `json:"deleted"`
	// Failed counts objects Scrub could not fix this time.
	Failed   int64         `json:"failed"`
	Duration time.Duration `json:"duration_ns"`
	Seconds  float64       `json:"seconds"`
}

// Findings is what the scrub found wrong: copied, repaired, lost, deleted
// and failed objects.
func (r ScrubReport) Findings() int64 { return r.Copied + r.Repaired + r.Lost + r.Deleted + r.Failed }

// Scrub compares both sites. An object the metadata references that one
// site lacks is copied from the other; one whose size or checksum differ
// is checked part by part through the keys and the good copy replaces the
// bad; one that neither site holds intact is reported lost. It copies
// only what the metadata references, so a deleted version never comes
// back, and removes from the one site that still holds it an object of a
// firm of the metadata that nothing references (after Grace). A scrub
// right after another finds nothing. Errors: unavailable when a site
// cannot be listed; the metadata's errors.
func (s *Store) Scrub(ctx context.Context, opt ScrubOptions) (ScrubReport, error) {
	start := s.now()
	rep, err := s.scrubOnce(ctx, opt)
	rep.Duration = s.now().Sub(start)
	rep.Seconds = rep.Duration.Seconds()
	s.mu.Lock()
	s.lastScrub = scrubState{finished: s.now(), findings: rep.Findings()}
	if err != nil {
		s.lastScrub.err = err.Error()
	}
	s.mu.Unlock()
	return rep, err
}

func (s *Store) scrubOnce(ctx context.Context, opt ScrubOptions) (ScrubReport, error) {
	var rep ScrubReport
	if opt.Grace <= 0 {
		opt.Grace = time.Hour
	}
	var held [2]map[string]vault.BlobInfo
	for i, st := range s.sites {
		held[i] = map[string]vault.BlobInfo{}
		if err := st.List(ctx, "", func(b vault.BlobInfo) error { held[i][b.Key] = b; return nil }); err != nil {
			return rep, fmt.Errorf("listing the %s: %w", siteNames[i], err)
		}
	}
	refs, tenants, err := opt.Refs(ctx)
	if err != nil {
		return rep, err
	}
	referenced := make(map[string]bool, len(refs))
	for _, ref := range refs {
		referenced[ref.Key] = true
	}
	// Objects are compared and mended scrubWorkers at a time: a copy or a
	// check is a few round trips, mostly waiting.
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		jobs = make(chan Ref)
	)
	for range scrubWorkers {
		wg.Go(func() {
			for ref := range jobs {
				out := s.scrubRef(ctx, opt, ref, held)
				mu.Lock()
				rep.count(ref.Key, out)
				mu.Unlock()
			}
		})
	}
	for _, ref := range refs {
		if ctx.Err() != nil {
			break
		}
		jobs <- ref
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	cutoff := s.now().Add(-opt.Grace)
	type leftover struct {
		key  string
		site int
	}
	var leftovers []leftover
	for i := range held {
		for key, b := range held[i] {
			_, onOther := held[1-i][key]
			if referenced[key] || onOther || !tenants[tenantOf(key)] || !b.ModTime.Before(cutoff) {
				continue
			}
			leftovers = append(leftovers, leftover{key, i})
		}
	}
	for _, l := range leftovers {
		if err := s.sites[l.site].Delete(ctx, l.key); err != nil {
			rep.Failed++
			s.log.Warn().Err(err).Str("site", siteNames[l.site]).Str("blob_key", l.key).Msg("scrub: cannot delete a leftover object")
			continue
		}
		rep.Deleted++
		delete(held[l.site], l.key)
		s.clearPending(l.key, l.site, opDelete)
	}
	// What the sites owed and the scrub found settled is no longer pending.
	for _, pk := range s.pendingList() {
		_, has := held[pk.site][pk.key]
		switch {
		case pk.op == opDelete && (!has || referenced[pk.key]):
			s.clearPending(pk.key, pk.site, pk.op)
		case pk.op == opDelete && has && !referenced[pk.key]:
			if err := s.sites[pk.site].Delete(ctx, pk.key); err == nil {
				rep.Deleted++
				s.clearPending(pk.key, pk.site, pk.op)
			}
		case pk.op == opCopy && !referenced[pk.key]:
			s.clearPending(pk.key, pk.site, pk.op)
		}
	}
	s.log.Info().Int64("checked", rep.Checked).Int64("copied", rep.Copied).Int64("repaired", rep.Repaired).
		Int64("lost", rep.Lost).Int64("deleted", rep.Deleted).Int64("failed", rep.Failed).Msg("scrub finished")
	return rep, nil
}

// scrubWorkers is how many objects a scrub compares at once.
const scrubWorkers = 8

// The outcomes of scrubbing one object.
type outcome int

const (
	inSync outcome = iota
	copied
	repaired
	lost
	failed
)

// count adds one object's outcome to the report.
func (r *ScrubReport) count(key string, o outcome) {
	r.Checked++
	switch o {
	case copied:
		r.Copied++
	case repaired:
		r.Repaired++
	case failed:
		r.Failed++
	case lost:
		r.Lost++
		if len(r.LostKeys) < 100 {
			r.LostKeys = append(r.LostKeys, key)
			slices.Sort(r.LostKeys)
		}
	}
}

// scrubRef compares one referenced object on both sites and mends it.
func (s *Store) scrubRef(ctx context.Context, opt ScrubOptions, ref Ref, held [2]map[string]vault.BlobInfo) outcome {
	p, onP := held[primary][ref.Key]
	m, onM := held[second][ref.Key]
	p.Key, m.Key = ref.Key, ref.Key
	switch {
	case !onP && !onM:
		return s.lost(ref.Key, "on neither site")
	case !onP || !onM:
		from, to := primary, second
		if !onP {
			from, to = second, primary
		}
		if ref.Verify != nil {
			if err := ref.Verify(ctx, s.sites[from]); vault.IsCode(err, vault.ECANNOTDECRYPT) {
				return s.lost(ref.Key, "on one site, damaged")
			}
		}
		return s.mend(ctx, ref.Key, from, to, copied)
	}
	same, err := s.same(ctx, opt, ref, p, m)
	if err != nil {
		s.log.Warn().Err(err).Str("blob_key", ref.Key).Msg("scrub: cannot compare the two copies")
		return failed
	}
	if same {
		s.clearPending(ref.Key, primary, opCopy)
		s.clearPending(ref.Key, second, opCopy)
		return inSync
	}
	if ref.Verify == nil {
		// A pending upload: the upload itself decides; nothing to judge by.
		return inSync
	}
	var bad [2]bool
	for i := range s.sites {
		err := ref.Verify(ctx, s.sites[i])
		switch {
		case vault.IsCode(err, vault.ECANNOTDECRYPT):
			bad[i] = true
		case err != nil:
			s.log.Warn().Err(err).Str("site", siteNames[i]).Str("blob_key", ref.Key).Msg("scrub: cannot check a copy")
			return failed
		}
	}
	switch {
	case bad[primary] && bad[second]:
		return s.lost(ref.Key, "damaged on both sites")
	case bad[primary]:
		return s.mend(ctx, ref.Key, second, primary, repaired)
	case bad[second]:
		return s.mend(ctx, ref.Key, primary, second, repaired)
	}
	return inSync
}

// same reports whether the two copies are equal: same size (and the size
// the metadata promises), and the same checksum where the sites keep one
// (or, with Deep, read one).
func (s *Store) same(ctx context.Context, opt ScrubOptions, ref Ref, p, m vault.BlobInfo) (bool, error) {
	if p.Size != m.Size || (ref.Size >= 0 && p.Size != ref.Size) {
		return false, nil
	}
	var sums [2]uint64
	for i, st := range s.sites {
		_, sum, kept, err := checksumOf(ctx, st, ref.Key)
		if err != nil {
			return false, err
		}
		if !kept {
			if !opt.Deep {
				return true, nil
			}
			if sum, err = readChecksum(ctx, st, ref.Key); err != nil {
				return false, err
			}
		}
		sums[i] = sum
	}
	return sums[primary] == sums[second], nil
}

// mend copies key from site from onto site to; it returns o, or failed.
func (s *Store) mend(ctx context.Context, key string, from, to int, o outcome) outcome {
	if err := s.copyObject(ctx, key, from, to); err != nil {
		s.addPending(key, to, opCopy, err)
		return failed
	}
	return o
}

// lost logs a referenced object no site holds intact, at error level.
func (s *Store) lost(key string, why string) outcome {
	s.log.Error().Str("tenant_id", tenantOf(key)).Str("blob_key", key).Str("why", why).Msg("scrub: object lost")
	return lost
}
