package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/casevault/casevault/config"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault/mirror"
)

// ResidencyReport builds and signs the residency report of a firm
// (docs/RESIDENCY.md): its objects in its cell's store, hashed, and a scan
// of every other served cell — its directory, its key files and its store
// — for the firm's id, its users' ids and emails, signed by the firm's
// region's audit key. Errors: not_found, unavailable, conflict (a scan
// found something of the firm in another cell).
func (m *Main) ResidencyReport(ctx context.Context, tenantID string) ([]byte, error) {
	t, err := m.DB.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	users, err := m.DB.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var needles []string
	for _, u := range users {
		needles = append(needles, u.ID)
		if u.Email != "" {
			needles = append(needles, u.Email)
		}
	}
	in := residency.Input{
		Tenant: t.ID, Region: t.Region, Needles: residency.Needles(needles...), Now: m.Service.Now,
		Stores: m.regionStores(t.Region, t.ID+"/"),
	}
	for _, region := range m.Config.RegionNames() {
		if region == t.Region {
			continue
		}
		in.OtherCells = append(in.OtherCells, residency.CellInput{
			Region: region, Dir: m.Config.CellDir(region), Files: m.regionKeyFiles(region),
			Stores: m.regionStores(region, ""),
		})
	}
	// The firm's moves are the handover events of its log.
	log, err := m.Audit.Log(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	moves, err := log.Moves(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, mv := range moves {
		at := residency.Time{Time: mv.At}
		in.Moves = append(in.Moves, residency.Move{From: mv.From, To: mv.To, Started: at, Finished: at, HandoverSeq: mv.Seq})
	}
	r, err := residency.Build(ctx, in)
	if err != nil {
		return nil, err
	}
	signer, _, err := m.auditSigners.For(m.DB.Region)(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return r.Sign(signer)
}

// storeDesc describes region's blob store for a residency report, without
// credentials.
func (m *Main) storeDesc(region string) residency.StoreDesc {
	rc := m.Config.Regions[region]
	if rc.Type == config.StoreS3 {
		return residency.StoreDesc{Kind: residency.KindS3, Endpoint: rc.Endpoint, Bucket: rc.Bucket}
	}
	return residency.StoreDesc{Kind: residency.KindFS, Path: m.Config.RegionPath(region)}
}

// regionStores are region's blob stores as a residency report reads them,
// each with the key prefix given: the region's own and, when it has one,
// its mirror, the second site of the same region (ciphertext only, under
// the same keys).
func (m *Main) regionStores(region, prefix string) []residency.StoreInput {
	st := m.Service.Regions[region]
	ms, ok := st.(*mirror.Store)
	if !ok {
		return []residency.StoreInput{{Desc: m.storeDesc(region), Store: st, Prefix: prefix}}
	}
	mc := *m.Config.Regions[region].Mirror
	desc := residency.StoreDesc{Kind: residency.KindFS, Path: mc.Path}
	if mc.Type == config.StoreS3 {
		desc = residency.StoreDesc{Kind: residency.KindS3, Endpoint: mc.Endpoint, Bucket: mc.Bucket}
	}
	return []residency.StoreInput{
		{Desc: m.storeDesc(region), Store: ms.Primary(), Prefix: prefix},
		{Desc: desc, Store: ms.Mirror(), Prefix: prefix},
	}
}

// regionKeyFiles are the files beside region's master key that belong to
// the region: its master key, audit signer, index key and anchored
// checkpoints ("<region>-…" in that directory).
func (m *Main) regionKeyFiles(region string) []string {
	return regionKeyFiles(filepath.Dir(m.Config.MasterKeyPath(region)), region)
}

// regionKeyFiles are the regular files named "<region>-…" in dir, and
// those in its directories of that name (the anchored checkpoints).
func regionKeyFiles(dir, region string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var files []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), region+"-") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			files = append(files, p)
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			continue
		}
		for _, f := range sub {
			if f.Type().IsRegular() {
				files = append(files, filepath.Join(p, f.Name()))
			}
		}
	}
	return files
}
