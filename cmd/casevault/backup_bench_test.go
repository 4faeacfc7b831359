package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newestBackup returns the newest creation time (the LTX header's
// timestamp, in the key) of the metadata database's backup objects in
// the fs backup dir, at every level.
func newestBackup(dir string) time.Time {
	var newest int64
	levels, _ := os.ReadDir(filepath.Join(dir, "casevault"))
	for _, l := range levels {
		ents, _ := os.ReadDir(filepath.Join(dir, "casevault", l.Name()))
		for _, e := range ents {
			parts := strings.Split(e.Name(), "-")
			if len(parts) != 3 {
				continue
			}
			if ms, err := strconv.ParseInt(parts[2], 10, 64); err == nil && ms > newest {
				newest = ms
			}
		}
	}
	if newest == 0 {
		return time.Time{}
	}
	return time.UnixMilli(newest)
}

// BenchmarkBackup_Lag uploads steadily through a real server (10 uploads
// of 64 KiB a second, CASEVAULT_BENCH_LAG_SECONDS long, 90 by default)
// while its cell is backed up every CASEVAULT_BENCH_BACKUP_INTERVAL (10s,
// the default), and samples twice a second how far the newest backup is
// behind: now minus the commit time of the newest upload the backup holds
// (an upload committed before the newest backup object was cut). It
// reports the p50 and the maximum in seconds: the RPO under load.
func BenchmarkBackup_Lag(b *testing.B) {
	interval := os.Getenv("CASEVAULT_BENCH_BACKUP_INTERVAL")
	if interval == "" {
		interval = "10s"
	}
	seconds := benchEnvInt(b, "CASEVAULT_BENCH_LAG_SECONDS", 90)
	for i := 0; i < b.N; i++ {
		outside := b.TempDir()
		dataDir := filepath.Join(outside, "data")
		backupDir := filepath.Join(outside, "backups", "us")
		cfg := filepath.Join(outside, "casevault.yaml")
		yml := fmt.Sprintf("rate_limit: {per_user_per_second: 1000, per_user_burst: 1000}\nregions:\n  us:\n    type: fs\n    master_key: {type: file}\n    backup: {dir: %s, interval: %s}\n  ca:\n    type: fs\n    master_key: {type: file}\n    backup: off\n", backupDir, interval)
		if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
			b.Fatal(err)
		}
		var so, se bytes.Buffer
		if err := run(context.Background(), []string{"tenant", "create", "--name", "Bench LLP", "--region", "us",
			"--owner-email", "owner@bench.example", "--json", "--config", cfg, "--data-dir", dataDir}, &so, &se); err != nil {
			b.Fatalf("tenant create: %v\n%s", err, se.String())
		}
		var firm struct {
			OwnerPassword string `json:"owner_password"`
		}
		json.Unmarshal(so.Bytes(), &firm)
		srv := startServer(b, dataDir, cfg)
		c := newClient(srv.URL)
		var login struct{ Token string }
		c.json(b, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@bench.example", "password": firm.OwnerPassword}, http.StatusOK, &login)
		c.token = login.Token
		var matter struct{ ID string }
		c.json(b, "POST", "/api/v1/matters", map[string]string{"name": "Matter", "client": "Client"}, http.StatusCreated, &matter)

		var mu sync.Mutex
		var commits []time.Time
		failed := 0
		stop := make(chan struct{})
		var wg sync.WaitGroup
		body := strings.Repeat("x", 64<<10)
		wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			var up sync.WaitGroup
			defer up.Wait()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				up.Go(func() {
					req, _ := http.NewRequest("POST", srv.URL+"/api/v1/matters/"+matter.ID+"/documents?name=load.bin", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+c.token)
					req.Header.Set("Content-Type", "application/octet-stream")
					resp, err := c.hc.Do(req)
					ok := err == nil && resp.StatusCode == http.StatusCreated
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					mu.Lock()
					if ok {
						commits = append(commits, time.Now())
					} else {
						failed++
					}
					mu.Unlock()
				})
			}
		})
		// Sample once the backup has caught up with the start.
		warm := time.Now().Add(20 * time.Second)
		var lags []float64
		end := time.Now().Add(time.Duration(seconds)*time.Second + 20*time.Second)
		for now := time.Now(); now.Before(end); now = time.Now() {
			time.Sleep(500 * time.Millisecond)
			if now.Before(warm) {
				continue
			}
			newest := newestBackup(backupDir)
			mu.Lock()
			// Commit times are when the client got its 201: the commit is
			// a little earlier, so the lag is overstated, never hidden.
			var held time.Time
			for _, t := range commits {
				if !t.After(newest) && t.After(held) {
					held = t
				}
			}
			mu.Unlock()
			if held.IsZero() {
				continue
			}
			lags = append(lags, time.Since(held).Seconds())
		}
		close(stop)
		wg.Wait()
		srv.Stop(b)
		if len(lags) == 0 {
			b.Fatal("no sample: the backup never held an upload")
		}
		slices.Sort(lags)
		p50, p99, maxLag := lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1]
		b.ReportMetric(p50, "lag-p50-s")
		b.ReportMetric(maxLag, "lag-max-s")
		b.Logf("sync interval %s; %d uploads of 64 KiB in %d s (%d failed); %d samples of the backup's lag: p50 %.1f s, p99 %.1f s, max %.1f s",
			interval, len(commits), seconds+20, failed, len(lags), p50, p99, maxLag)
	}
}
