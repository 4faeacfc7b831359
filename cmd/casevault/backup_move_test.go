package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/superfly/ltx"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	vaultfs "github.com/casevault/casevault/vault/fs"
)

// backupObject is one object of a region's fs backup, as written.
type backupObject struct {
	db, key string
	level   int
	min     ltx.TXID
	max     ltx.TXID
	written time.Time // the file's modification time
}

// backupObjects lists region's fs backup objects (DB/LEVEL/MIN-MAX-MS).
func backupObjects(t *testing.T, dir string) []backupObject {
	t.Helper()
	var out []backupObject
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 {
			return nil
		}
		var o backupObject
		o.db, o.key = parts[0], filepath.ToSlash(rel)
		if _, err := fmt.Sscanf(parts[1], "%d", &o.level); err != nil {
			return nil
		}
		r := strings.Split(parts[2], "-")
		if len(r) != 3 {
			return nil
		}
		var e1, e2 error
		o.min, e1 = ltx.ParseTXID(r[0])
		o.max, e2 = ltx.ParseTXID(r[1])
		if e1 != nil || e2 != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		o.written = fi.ModTime()
		out = append(out, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ltxPlain decrypts one backup object with the region's backup key and
// returns its header and page bytes, decompressed.
func ltxPlain(t *testing.T, store vault.BlobStore, key *keys.BackupKey, o backupObject) []byte {
	t.Helper()
	c, err := backup.NewClient(store, key, o.db, "")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.OpenLTXFile(context.Background(), o.level, o.min, o.max, 0, 0)
	if err != nil {
		t.Fatalf("open %s: %v", o.key, err)
	}
	defer rc.Close()
	dec := ltx.NewDecoder(rc)
	if err := dec.DecodeHeader(); err != nil {
		t.Fatalf("%s: %v", o.key, err)
	}
	var out bytes.Buffer
	page := make([]byte, dec.Header().PageSize)
	for {
		var hdr ltx.PageHeader
		err := dec.DecodePage(&hdr, page)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: page: %v", o.key, err)
		}
		out.Write(page)
	}
	return out.Bytes()
}

// TestOperator_MoveResyncsBackup moves a us firm to ca through a running
// server's operator API while another us firm keeps uploading: afterwards
// nothing of the moved firm is in the us cell, Litestream's local state
// there included, nor in any us backup object written after the move
// (decrypted with the backup key and decompressed), its residency report
// checks out, and the us backup kept backing up the firm that stayed
// (restored, it holds every upload, before, during and after the move);
// `backup forget` of the time before the move leaves no object with the
// firm, and the rest still restores.
func TestOperator_MoveResyncsBackup(t *testing.T) {
	needAuditMove(t)
	e := newMoveEnv(t, 3, func(i int) int64 { return 5000 })
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	// Backups every second.
	cfg = bytes.ReplaceAll(cfg, []byte("-master.json}\n"), []byte("-master.json}\n    backup: {interval: 1s}\n"))
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	m := e.open(t)
	stays := makeMoveFirm(t, m, "us", "birch", 1, func(int) int64 { return 3000 })
	m.Close()

	srv := startServer(t, e.dataDir, e.config)
	defer srv.Stop(t)
	backupDir := filepath.Join(e.dataDir, "backups", "us")
	waitFor(t, "a us backup", func() bool { return len(backupObjects(t, backupDir)) > 0 })

	owner := precellsLogin(t, srv.URL, stays.Emails[0], stays.Passwords[stays.Emails[0]])
	var matter struct{ ID string }
	owner.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Matter", "client": "Client"}, http.StatusCreated, &matter)

	// The firm that stays uploads throughout.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var uploaded, failed []string
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/matters/"+matter.ID+"/documents?name=during.bin", strings.NewReader(strings.Repeat("x", 2000+i)))
			req.Header.Set("Authorization", "Bearer "+owner.token)
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := owner.hc.Do(req)
			mu.Lock()
			if err != nil {
				failed = append(failed, err.Error())
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					failed = append(failed, fmt.Sprintf("%d %s", resp.StatusCode, b))
				} else {
					uploaded = append(uploaded, string(b))
				}
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	})

	op := opAPI(t, e.dataDir)
	started := time.Now().UTC()
	op.start(t, e.firm.ID, "ca")
	st := op.wait(t, e.firm.ID)
	if st.Step != "done" || st.ErrorCode != "" {
		t.Fatalf("move = %+v, want done without error", st)
	}
	moved := time.Now()
	time.Sleep(3 * time.Second) // the users go on; the backup ships
	close(stop)
	wg.Wait()
	mu.Lock()
	if len(failed) > 0 || len(uploaded) == 0 {
		t.Errorf("uploads of the firm that stays: %d failed (%v), %d worked", len(failed), failed, len(uploaded))
	}
	nUploaded := len(uploaded)
	mu.Unlock()
	if !strings.Contains(srv.Stderr.String(), "backing up the cell's databases") {
		t.Errorf("server log: no backup start")
	}

	// The old cell, Litestream's local state in it and the us keys hold
	// nothing of the firm, with the server running.
	e.checkGone(t, e.firm, "us")

	mk, err := loadMasterKey(filepath.Join(e.keyDir("us"), "us-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	bkey, err := keys.LoadBackupKey(context.Background(), filepath.Join(e.keyDir("us"), "us-backup.json"), "us", mk)
	if err != nil {
		t.Fatal(err)
	}
	store, err := vaultfs.New(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	var before, after int
	for _, o := range backupObjects(t, backupDir) {
		plain := bytes.ToLower(ltxPlain(t, store, bkey, o))
		holds := bytes.Contains(plain, []byte(strings.ToLower(e.firm.ID)))
		if !o.written.After(moved) {
			if holds {
				before++
			}
			continue
		}
		after++
		for _, mk := range e.firm.Markers {
			if bytes.Contains(plain, []byte(strings.ToLower(mk))) {
				t.Errorf("backup object %s, written %s after the move, holds %q", o.key, o.written.Sub(moved), mk)
			}
		}
	}
	if before == 0 {
		t.Errorf("no backup object from before the move holds the firm's id: the scan finds nothing at all")
	}
	if after == 0 {
		t.Errorf("no backup object written after the move (a fresh snapshot at least)")
	}
	srv.Stop(t)
	e.checkResidencyReport(t, e.firm, "us", "ca")

	// The us backup went on: restored, it holds the firm that stayed with
	// every upload, and not the firm that left.
	s := restoreJSON(t, e.dataDir, e.config, "us", filepath.Join(t.TempDir(), "us"))
	if !s.OK || len(s.Firms) != 1 || s.Firms[0].Tenant != stays.ID {
		t.Fatalf("restore us = %+v, want the firm that stayed only", s)
	}
	if got, want := s.Firms[0].Documents, 1+nUploaded; got != want {
		t.Errorf("restored documents of the firm that stayed: got %d, want %d", got, want)
	}

	// The operator forgets the us backup's time before the move: what is
	// left holds nothing of the firm, and still restores the cell.
	out, errOut, err := cli(t, e.dataDir, "backup", "forget", "--region", "us", "--before", started.Format(time.RFC3339Nano), "--config", e.config)
	if err != nil || !strings.Contains(out, "backup objects deleted") {
		t.Fatalf("backup forget: %v\n%s%s", err, out, errOut)
	}
	for _, o := range backupObjects(t, backupDir) {
		plain := bytes.ToLower(ltxPlain(t, store, bkey, o))
		for _, mk := range e.firm.Markers {
			if bytes.Contains(plain, []byte(strings.ToLower(mk))) {
				t.Errorf("after backup forget: object %s holds %q", o.key, mk)
			}
		}
	}
	s = restoreJSON(t, e.dataDir, e.config, "us", filepath.Join(t.TempDir(), "us"))
	if !s.OK || len(s.Firms) != 1 || s.Firms[0].Documents != 1+nUploaded {
		t.Errorf("restore us after backup forget = %+v", s)
	}
	if _, _, err := cli(t, e.dataDir, "backup", "forget", "--region", "us", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--config", e.config); err == nil {
		t.Errorf("backup forget with no snapshot after the time: got no error")
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
