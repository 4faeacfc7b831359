package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkTenantMove moves a firm of 200 documents, one of 1 GiB
// (CASEVAULT_BENCH_SIZE sets the size, CASEVAULT_BENCH_MOVE_BIG how many
// are that large; the others are 256 KiB), from us to ca, each region's store on
// its own MinIO server, with `casevault tenant move` in a child process,
// and reports the move's throughput in MB/s of the firm's objects, the
// same objects' raw MinIO→MinIO copy (minio-go Get and Put, as many at
// once as the mover copies) in the same run, their ratio, and the mover's
// peak RSS (the child's getrusage maximum). Until the audit side of a move
// is built, the move is timed through its blob copy (the crash hook stops
// it there), and the figures say so.
func BenchmarkTenantMove(b *testing.B) {
	big := vaulttest.BenchSize(b, 1<<30)
	nBig := 1
	if v := os.Getenv("CASEVAULT_BENCH_MOVE_BIG"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			b.Fatalf("CASEVAULT_BENCH_MOVE_BIG=%q: want 1 to 200 large documents", v)
		}
		nBig = n
	}
	servers := map[string]*s3test.Server{"us": s3test.MinIO(b), "ca": s3test.MinIO(b)}
	buckets := map[string]string{"us": s3test.NewBucketName("move-us"), "ca": s3test.NewBucketName("move-ca")}
	for i := 0; i < b.N; i++ {
		e := newMoveEnvWith(b, 200, func(i int) int64 {
			if i < nBig {
				return big
			}
			return 256 << 10
		}, func(r string) string {
			s := servers[r]
			return fmt.Sprintf("    type: s3\n    endpoint: %s\n    bucket: %s\n    secure: false\n    create_bucket: true\n    access_key: %s\n    secret_key: %s\n",
				s.Endpoint, buckets[r], s.AccessKey, s.SecretKey)
		})
		objects, total := listObjects(b, servers["us"], buckets["us"], e.firm.ID+"/")

		rawSecs := rawCopy(b, servers["us"], buckets["us"], servers["ca"], s3test.NewBucketName("move-raw"), objects)

		args := []string{"tenant", "move", "--tenant", e.firm.ID, "--to", "ca", "--json", "--config", e.config, "--data-dir", e.dataDir}
		cmd := exec.Command(binary(b), args...)
		if p := os.Getenv("CASEVAULT_BENCH_MOVE_PERF"); p != "" {
			// A profile of the mover: perf's figures, not the mover's RSS.
			cmd = exec.Command("perf", append([]string{"record", "-F", "499", "-g", "-o", p, "--", binary(b)}, args...)...)
		}
		cmd.Env = os.Environ()
		through := "the whole move"
		if !auditMoveBuilt() {
			cmd.Env = append(cmd.Env, moveCrashEnv+"="+string(move.StepCopyBlobs))
			through = "through copy_blobs (audit side not built)"
		}
		start := time.Now()
		out, steps, err := runTimed(b, cmd, start, filepath.Join(e.dataDir, "service.db"), e.firm.ID)
		secs := time.Since(start).Seconds()
		if code := cmd.ProcessState.ExitCode(); err != nil && !(code == 3 && through != "the whole move") {
			b.Fatalf("tenant move: %v\n%s", err, out)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
		mb := float64(total) / 1e6
		b.ReportMetric(mb/secs, "move-MB/s")
		b.ReportMetric(mb/rawSecs, "raw-MB/s")
		b.ReportMetric(rawSecs/secs, "ratio")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.Logf("steps (seconds each, as the moves table records them; a step's time ends when it is recorded): %s", steps)
		b.Logf("%d objects, %.1f MB: move (%s) %.2f s = %.1f MB/s, raw MinIO→MinIO copy %.2f s = %.1f MB/s, ratio %.2f, mover peak RSS %.1f MiB",
			len(objects), mb, through, secs, mb/secs, rawSecs, mb/rawSecs, rawSecs/secs, float64(rss)/(1<<20))
	}
}

// runTimed runs cmd and times each step of the move by when the moves
// table of service.db (polled every 20 ms, read-only) records it; the
// command logs at warn level, so no "move step done" line reaches a file.
// The step "done" is when the move's row is gone.
func runTimed(tb testing.TB, cmd *exec.Cmd, start time.Time, serviceDB, tenant string) ([]byte, string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	db, err := sql.Open("sqlite", "file:"+serviceDB+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	stop := make(chan struct{})
	done := make(chan string)
	go func() {
		var steps strings.Builder
		last, lastStep, any := start, "", false
		poll := func() {
			var step string
			err := db.QueryRow(`SELECT step FROM moves WHERE tenant_id = ?`, tenant).Scan(&step)
			switch {
			case errors.Is(err, sql.ErrNoRows) && any:
				step = string(move.StepDone)
			case err != nil:
				return
			}
			if step == lastStep {
				return
			}
			any, lastStep = true, step
			now := time.Now()
			fmt.Fprintf(&steps, "%s %.2f, ", step, now.Sub(last).Seconds())
			last = now
		}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				poll()
			case <-stop:
				poll()
				done <- strings.TrimSuffix(steps.String(), ", ")
				return
			}
		}
	}()
	err = cmd.Run()
	close(stop)
	return out.Bytes(), <-done, err
}

// listObjects returns the objects under prefix in bucket and their total
// size.
func listObjects(tb testing.TB, s *s3test.Server, bucket, prefix string) ([]minio.ObjectInfo, int64) {
	tb.Helper()
	c, err := s.Client()
	if err != nil {
		tb.Fatal(err)
	}
	var objs []minio.ObjectInfo
	var total int64
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			tb.Fatal(o.Err)
		}
		objs = append(objs, o)
		total += o.Size
	}
	if len(objs) == 0 {
		tb.Fatalf("no object under %s in %s", prefix, bucket)
	}
	return objs, total
}

// rawCopy copies objs from one server's bucket to a new bucket on another
// with minio-go's GetObject and PutObject (the exact size, the store's part
// size), as many at once as the mover, and returns the seconds it took.
func rawCopy(tb testing.TB, from *s3test.Server, fromBucket string, to *s3test.Server, toBucket string, objs []minio.ObjectInfo) float64 {
	tb.Helper()
	ctx := context.Background()
	src, err := from.Client()
	if err != nil {
		tb.Fatal(err)
	}
	dst, err := to.Client()
	if err != nil {
		tb.Fatal(err)
	}
	if err := dst.MakeBucket(ctx, toBucket, minio.MakeBucketOptions{Region: s3test.Region}); err != nil {
		tb.Fatal(err)
	}
	jobs := make(chan minio.ObjectInfo)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range jobs {
				r, err := src.GetObject(ctx, fromBucket, o.Key, minio.GetObjectOptions{})
				if err != nil {
					fail(err)
					continue
				}
				_, err = dst.PutObject(ctx, toBucket, o.Key, io.Reader(r), o.Size, minio.PutObjectOptions{PartSize: 8 << 20})
				r.Close()
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	for _, o := range objs {
		jobs <- o
	}
	close(jobs)
	wg.Wait()
	secs := time.Since(start).Seconds()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	return secs
}
