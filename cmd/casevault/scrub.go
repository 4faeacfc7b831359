package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/mirror"
	"github.com/casevault/casevault/vault/sqlite"
)

// cmdScrub runs `casevault scrub --region R [--deep] [--json]`: it
// compares the region's two sites and mends them (vault/mirror.Scrub). It
// may run beside a running server: it only reads the cell's metadata
// database, and writes only to the two stores.
func cmdScrub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("scrub", stderr)
	region := fs.String("region", "", "the `region` whose two sites to compare")
	deep := fs.Bool("deep", false, "read both copies of objects whose checksums the sites do not keep")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "region"); err != nil {
		return err
	}
	m, err := cf.loadRegion(stderr, *region)
	if err != nil {
		return err
	}
	rc := m.Config.Regions[*region]
	if rc.Mirror == nil {
		return fmt.Errorf("region %s has no mirror", *region)
	}
	mk, err := loadMasterKey(m.Config.MasterKeyPath(*region))
	if err != nil {
		return fmt.Errorf("region %s: master key: %w", *region, err)
	}
	db, err := sqlite.Open(ctx, m.Config.CellDatabasePath(*region))
	if err != nil {
		return fmt.Errorf("region %s: database: %w", *region, err)
	}
	defer db.Close()
	km, err := keys.NewManager(map[string]keys.MasterKey{*region: mk}, db)
	if err != nil {
		return err
	}
	db.Sealer = km
	store, err := openStore(ctx, &m.Config, *region, rc, m.Log)
	if err != nil {
		return fmt.Errorf("region %s: store: %w", *region, err)
	}
	ms := store.(*mirror.Store)
	ms.SetLog(m.Log.With().Str("component", "scrub").Str("region", *region).Logger())
	rep, err := ms.Scrub(ctx, mirror.ScrubOptions{Refs: scrubRefs(db, km), Deep: *deep})
	if err != nil {
		return fmt.Errorf("region %s: scrub: %w", *region, err)
	}
	rep.Region = *region
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "Scrubbed region %s in %s: %d objects checked, %d copied, %d repaired, %d lost, %d deleted, %d failed.\n",
			*region, rep.Duration.Round(time.Millisecond), rep.Checked, rep.Copied, rep.Repaired, rep.Lost, rep.Deleted, rep.Failed)
		for _, k := range rep.LostKeys {
			fmt.Fprintf(stdout, "  LOST: %s\n", k)
		}
	}
	if rep.Lost > 0 || rep.Failed > 0 {
		return errReported
	}
	return nil
}

// scrubRefs returns what a cell's metadata references: every pending
// upload's blob, then every version's blob of every firm (pending first, so
// an upload that commits in between is seen in one list or the other),
// each version with a check of its parts through the firm's keys that
// discards the plaintext.
func scrubRefs(db vault.Store, km vault.DocumentCipher) func(ctx context.Context) ([]mirror.Ref, map[string]bool, error) {
	return func(ctx context.Context) ([]mirror.Ref, map[string]bool, error) {
		pending, err := db.PendingBlobs(ctx, time.Unix(math.MaxInt32, 0))
		if err != nil {
			return nil, nil, err
		}
		var refs []mirror.Ref
		for _, p := range pending {
			refs = append(refs, mirror.Ref{Key: p.Key, Size: -1})
		}
		tenants, err := db.Tenants(ctx)
		if err != nil {
			return nil, nil, err
		}
		firms := map[string]bool{}
		for _, t := range tenants {
			firms[t.ID] = true
			docs, err := db.Documents(ctx, t.ID, vault.DocumentFilter{IncludeTrashed: true})
			if err != nil {
				return nil, nil, err
			}
			for _, d := range docs {
				vs, err := db.Versions(ctx, t.ID, d.ID)
				if err != nil {
					return nil, nil, err
				}
				for _, v := range vs {
					refs = append(refs, mirror.Ref{Key: v.BlobKey, Size: v.Sealed.CiphertextSize, Verify: verifyParts(km, v)})
				}
			}
		}
		return refs, firms, nil
	}
}

// verifyParts authenticates every part of v's blob as st holds it,
// discarding the plaintext: nothing of it is written anywhere.
func verifyParts(km vault.DocumentCipher, v *vault.Version) func(context.Context, vault.BlobStore) error {
	return func(ctx context.Context, st vault.BlobStore) error {
		ref := vault.DocRef{TenantID: v.TenantID, DocumentID: v.DocumentID, Version: v.Number}
		rc, err := km.DecryptRange(ctx, ref, v.Sealed, 0, v.Size, func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
			return st.Get(ctx, v.BlobKey, off, n)
		})
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	}
}

// startScrubs runs each mirrored region's scrub every scrub_interval
// (first one interval after the start), in the background, until ctx
// ends. Its outcome shows in /metrics and the durability figures.
func (m *Main) startScrubs(ctx context.Context) {
	for _, name := range m.Config.RegionNames() {
		every := m.Config.ScrubInterval(name)
		ms, ok := m.Service.Regions[name].(*mirror.Store)
		if every <= 0 || !ok {
			continue
		}
		db := m.DB.Cells[name]
		if db == nil {
			continue
		}
		log := m.Log.With().Str("component", "scrub").Str("region", name).Logger()
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				rep, err := ms.Scrub(ctx, mirror.ScrubOptions{Refs: scrubRefs(db, m.Keys)})
				switch {
				case err != nil:
					log.Error().Err(err).Msg("scheduled scrub failed")
				case rep.Lost > 0:
					log.Error().Int64("lost", rep.Lost).Msg("scheduled scrub found lost objects")
				}
			}
		}()
	}
}
