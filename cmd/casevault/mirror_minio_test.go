package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault/s3/s3test"
)

// mirroredMinIO is a region us whose store and mirror are buckets of two
// separate MinIO processes.
type mirroredMinIO struct {
	primary, mirror  *s3test.Server
	pBucket, mBucket string
	outside, dataDir string
	env              []string
}

func newMirroredMinIO(t *testing.T) *mirroredMinIO {
	t.Helper()
	m := &mirroredMinIO{primary: s3test.MinIO(t), mirror: s3test.MinIO(t), outside: t.TempDir()}
	m.pBucket, m.mBucket = s3test.NewBucketName("primary"), s3test.NewBucketName("mirror")
	m.dataDir = filepath.Join(m.outside, "data")
	m.env = []string{
		"CASEVAULT_REGION_US_ACCESS_KEY=" + m.primary.AccessKey, "CASEVAULT_REGION_US_SECRET_KEY=" + m.primary.SecretKey,
		"CASEVAULT_REGION_US_MIRROR_ACCESS_KEY=" + m.mirror.AccessKey, "CASEVAULT_REGION_US_MIRROR_SECRET_KEY=" + m.mirror.SecretKey,
	}
	for _, e := range m.env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	return m
}

// config writes the configuration, with require_mirror as given.
func (m *mirroredMinIO) config(t *testing.T, required bool) string {
	t.Helper()
	yml := fmt.Sprintf(`regions:
  us:
    type: s3
    endpoint: %s
    bucket: %s
    secure: false
    create_bucket: true
    master_key: {type: file}
    backup: off
    require_mirror: %v
    mirror:
      type: s3
      endpoint: %s
      bucket: %s
      secure: false
      create_bucket: true
  ca:
    type: fs
    master_key: {type: file}
    backup: off
`, m.primary.Endpoint, m.pBucket, required, m.mirror.Endpoint, m.mBucket)
	cfg := filepath.Join(m.outside, "casevault.yaml")
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// objects returns the objects of a bucket, key to bytes.
func objects(t *testing.T, srv *s3test.Server, bucket string) map[string][]byte {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := map[string][]byte{}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("listing %s: %v", bucket, o.Err)
		}
		obj, err := c.GetObject(ctx, bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = b
	}
	return out
}

func makeBucket(t *testing.T, srv *s3test.Server, bucket string) {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
		t.Fatal(err)
	}
}

// pendingRows counts the cell's pending-upload records.
func pendingRows(t *testing.T, dataDir string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "regions", "us", "casevault.db")+"?mode=ro&_pragma=busy_timeout(2000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pending_blobs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// tryUpload posts a document and returns its status, id and error code.
func (c *client) tryUpload(t *testing.T, matter, name string, body []byte) (int, string, string) {
	t.Helper()
	resp := c.request(t, "POST", "/api/v1/matters/"+matter+"/documents?name="+name, bytes.NewReader(body), http.Header{"Content-Type": {"application/pdf"}})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		ID    string `json:"id"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(b, &out)
	return resp.StatusCode, out.ID, out.Error.Code
}

// TestMirror_MinIOPrimaryKilled kills the primary MinIO in the middle of
// concurrent multi-MiB downloads and uploads over real HTTP: every
// download completes byte-identical, uploads answer 503 unavailable and
// leave nothing on either site nor in the metadata; the primary comes back
// empty, scrub (beside the running server) restores every object equal to
// the mirror's, and a second scrub finds nothing. Then, with require_mirror
// false, the mirror is killed: uploads succeed and are pending, and the
// mirror, back empty, is refilled by scrub.
func TestMirror_MinIOPrimaryKilled(t *testing.T) {
	m := newMirroredMinIO(t)
	cfg := m.config(t, true)
	srv, c, _, matter := mirrorFirm(t, m.dataDir, cfg, m.env...)

	docs := map[string][]byte{}
	for i := range 4 {
		body := markedContents(16<<20+i*4099, "MKMINIOCONTENTS")
		st, id, code := c.tryUpload(t, matter, fmt.Sprintf("MKMINIODOC%d.pdf", i), body)
		if st != http.StatusCreated {
			t.Fatalf("upload %d = %d %s", i, st, code)
		}
		docs[id] = body
	}

	// Downloads read slowly, so that the kill finds them mid-stream.
	var (
		wg        sync.WaitGroup
		stop      atomic.Bool
		completed atomic.Int64
		midStream atomic.Int64
		killed    = make(chan struct{})
		errs      = make(chan error, 100)
	)
	for id, want := range docs {
		for range 2 {
			wg.Go(func() {
				for !stop.Load() {
					resp := c.request(t, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
					var got bytes.Buffer
					_, err := io.CopyN(&got, resp.Body, 1<<20)
					if err == nil {
						select {
						case <-killed:
						case <-time.After(200 * time.Millisecond):
						}
						select {
						case <-killed:
							midStream.Add(1)
						default:
						}
						_, err = io.Copy(&got, resp.Body)
					}
					resp.Body.Close()
					switch {
					case resp.StatusCode != http.StatusOK:
						errs <- fmt.Errorf("download %s = %d", id, resp.StatusCode)
					case err != nil:
						errs <- fmt.Errorf("download %s: %v after %d bytes", id, err, got.Len())
					case !bytes.Equal(got.Bytes(), want):
						errs <- fmt.Errorf("download %s: %d bytes, not identical", id, got.Len())
					default:
						completed.Add(1)
					}
				}
			})
		}
	}
	// An upload in flight at the kill: its body waits after 4 MiB. Its
	// rest is small, so that the whole body (less than one 8 MiB part)
	// is sent before the server tries the stores: a server failing while
	// the client still writes closes the connection under the client's
	// write, and the client sees a broken pipe instead of the 503.
	inflight := make(chan [3]string, 1)
	go func() {
		body := io.MultiReader(bytes.NewReader(markedContents(4<<20, "MKMINIOINFLIGHT")), &waitReader{ch: killed},
			bytes.NewReader(markedContents(64<<10, "MKMINIOINFLIGHT")))
		req, _ := http.NewRequest("POST", c.base+"/api/v1/matters/"+matter+"/documents?name=MKMINIOINFLIGHT.pdf", body)
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/pdf")
		resp, err := c.hc.Do(req)
		if err != nil {
			inflight <- [3]string{"", "", err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- [3]string{resp.Status, string(b), ""}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := m.primary.Kill(); err != nil {
		t.Fatal(err)
	}
	close(killed)
	if r := <-inflight; !strings.HasPrefix(r[0], "503") || !strings.Contains(r[1], `"unavailable"`) {
		t.Errorf("upload in flight at the kill: got %q %s %s, want 503 unavailable", r[0], r[1], r[2])
	}

	// Uploads with the primary down: 503 unavailable, nothing left.
	before := objects(t, m.mirror, m.mBucket)
	for i := range 3 {
		st, id, code := c.tryUpload(t, matter, fmt.Sprintf("MKMINIOFAIL%d.pdf", i), markedContents(3<<20, "MKMINIOFAIL"))
		if st != http.StatusServiceUnavailable || code != "unavailable" {
			t.Errorf("upload with the primary down = %d %q (id %q), want 503 unavailable", st, code, id)
		}
	}
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("downloads completed: %d, of which cut mid-stream by the kill: %d", completed.Load(), midStream.Load())
	if midStream.Load() == 0 {
		t.Error("no download was in flight at the kill")
	}
	if after := objects(t, m.mirror, m.mBucket); len(after) != len(before) || len(after) != len(docs) {
		t.Errorf("mirror objects: %d before the failed uploads, %d after, want %d", len(before), len(after), len(docs))
	}
	if n := pendingRows(t, m.dataDir); n != 0 {
		t.Errorf("pending upload records after the failed uploads: got %d, want 0", n)
	}
	var list []docJSON
	c.json(t, "GET", "/api/v1/matters/"+matter+"/documents", nil, http.StatusOK, &list)
	if got, want := len(list), len(docs); got != want {
		t.Errorf("documents listed: got %d, want %d", got, want)
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	newClient(srv.URL).json(t, "GET", "/readyz", nil, http.StatusServiceUnavailable, &ready)

	// The primary comes back empty; scrub restores it fully.
	if err := m.primary.RestartEmpty(); err != nil {
		t.Fatal(err)
	}
	makeBucket(t, m.primary, m.pBucket)
	rep := scrubJSON(t, m.dataDir, cfg, "us")
	if rep.Checked != int64(len(docs)) || rep.Copied != int64(len(docs)) || rep.Lost != 0 || rep.Failed != 0 {
		t.Errorf("scrub after the primary came back empty: got %+v, want %d checked and copied", rep, len(docs))
	}
	p, mm := objects(t, m.primary, m.pBucket), objects(t, m.mirror, m.mBucket)
	if len(p) != len(docs) {
		t.Errorf("primary objects after scrub: got %d, want %d", len(p), len(docs))
	}
	for k, b := range mm {
		if !bytes.Equal(p[k], b) {
			t.Errorf("object %s differs between the sites after scrub", k)
		}
	}
	if rep := scrubJSON(t, m.dataDir, cfg, "us"); rep.Findings() != 0 {
		t.Errorf("second scrub: got %+v, want nothing found", rep)
	}
	for id, want := range docs {
		if got := c.downloadBytes(t, id); !bytes.Equal(got, want) {
			t.Errorf("download %s after scrub differs", id)
		}
	}
	if hits := bytesHitsMap(mm, []string{"MKMINIO", "MKMIRROR", "mkmirrorowner"}); len(hits) > 0 {
		t.Errorf("mirror objects hold markers: %q", hits)
	}
	srv.Stop(t)

	// require_mirror false: the mirror dies, uploads still succeed.
	cfg = m.config(t, false)
	srv = startServer(t, m.dataDir, cfg, m.env...)
	c.base = srv.URL
	if err := m.mirror.Kill(); err != nil {
		t.Fatal(err)
	}
	st, id, code := c.tryUpload(t, matter, "MKMINIOLATE.pdf", markedContents(5<<20, "MKMINIOLATE"))
	if st != http.StatusCreated {
		t.Fatalf("upload with the mirror down, not required = %d %s", st, code)
	}
	metrics := fetch(t, newClient(srv.URL), "/metrics", "")
	if !strings.Contains(metrics, `casevault_mirror_pending_objects{region="us"} 1`) {
		t.Errorf("/metrics: want 1 pending object")
	}
	newClient(srv.URL).json(t, "GET", "/readyz", nil, http.StatusOK, &ready)
	if ready.Checks["mirror:us"] != "unavailable" {
		t.Errorf("/readyz mirror:us: got %q, want unavailable", ready.Checks["mirror:us"])
	}
	if err := m.mirror.RestartEmpty(); err != nil {
		t.Fatal(err)
	}
	makeBucket(t, m.mirror, m.mBucket)
	if rep := scrubJSON(t, m.dataDir, cfg, "us"); rep.Copied != int64(len(docs))+1 || rep.Lost != 0 {
		t.Errorf("scrub after the mirror came back empty: got %+v, want %d copied", rep, len(docs)+1)
	}
	if rep := scrubJSON(t, m.dataDir, cfg, "us"); rep.Findings() != 0 {
		t.Errorf("second scrub: got %+v, want nothing found", rep)
	}
	m.primary.Kill()
	if got := c.downloadBytes(t, id); !bytes.Equal(got[:11], []byte("MKMINIOLATE")) {
		t.Error("the late upload does not download from the refilled mirror")
	}
}

// bytesHitsMap returns the objects whose key or bytes contain a marker.
func bytesHitsMap(objs map[string][]byte, markers []string) []string {
	var hits []string
	for k, b := range objs {
		for _, x := range markers {
			if bytes.Contains(b, []byte(x)) || strings.Contains(k, x) {
				hits = append(hits, x+": "+k)
			}
		}
	}
	return hits
}

// waitReader yields nothing until ch is closed, then EOF.
type waitReader struct{ ch chan struct{} }

func (w *waitReader) Read([]byte) (int, error) {
	<-w.ch
	time.Sleep(200 * time.Millisecond) // the primary's connection breaks first
	return 0, io.EOF
}
