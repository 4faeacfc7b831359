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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// once as the mover copies) in the same run, their ratio, the ratio to a
// raw copy that also sends large objects from 3 part buffers at once (as
// the mover does), the mover's peak RSS (the child's getrusage maximum),
// and the seconds of each step, from the moves table. Until the audit side
// of a move is built, the move is timed through its blob copy (the crash
// hook stops it there), and the figures say so. CASEVAULT_BENCH_MOVE_PERF
// names a file for a perf profile of the mover (its RSS is then perf's).
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

		rawSecs := rawCopy(b, servers["us"], buckets["us"], servers["ca"], s3test.NewBucketName("move-raw"), objects, false)
		pipeSecs := rawCopy(b, servers["us"], buckets["us"], servers["ca"], s3test.NewBucketName("move-pipe"), objects, true)

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
		var hwm atomic.Int64
		out, steps, err := runTimed(b, cmd, start, filepath.Join(e.dataDir, "service.db"), e.firm.ID, &hwm)
		secs := time.Since(start).Seconds()
		if code := cmd.ProcessState.ExitCode(); err != nil && !(code == 3 && through != "the whole move") {
			b.Fatalf("tenant move: %v\n%s", err, out)
		}
		if p := os.Getenv("CASEVAULT_BENCH_MOVE_OUT"); p != "" {
			// The mover's output, for GODEBUG=gctrace=1 and the like.
			if err := os.WriteFile(p, out, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		rss := hwm.Load()
		ruMax := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
		mb := float64(total) / 1e6
		b.ReportMetric(mb/secs, "move-MB/s")
		b.ReportMetric(mb/rawSecs, "raw-MB/s")
		b.ReportMetric(rawSecs/secs, "ratio")
		b.ReportMetric(pipeSecs/secs, "ratio-pipelined")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.Logf("steps (seconds each, as the moves table records them; a step's time ends when it is recorded): %s", steps)
		b.Logf("%d objects, %.1f MB: move (%s) %.2f s = %.1f MB/s, raw MinIO→MinIO copy %.2f s = %.1f MB/s, ratio %.2f; raw copy with 3 part buffers at once %.2f s = %.1f MB/s, ratio %.2f; mover peak RSS %.1f MiB (its getrusage maximum, which counts this process's RSS at the exec: %.1f MiB)",
			len(objects), mb, through, secs, mb/secs, rawSecs, mb/rawSecs, rawSecs/secs, pipeSecs, mb/pipeSecs, pipeSecs/secs, float64(rss)/(1<<20), float64(ruMax)/(1<<20))
	}
}

// runTimed runs cmd and times each step of the move by when the moves
// table of service.db (polled every 20 ms, read-only) records it; the
// command logs at warn level, so no "move step done" line reaches a file.
// The step "done" is when the move's row is gone.
//
// It also returns the child's peak RSS: the largest VmHWM of
// /proc/PID/status seen (the high-water mark of its own memory since its
// exec; the last 20 ms before it exits go unseen). The child's getrusage
// maximum is no measure of it: Go starts a child with vfork, so the kernel
// counts the parent's RSS at the exec (this benchmark's own, with the
// firm it made) into the child's ru_maxrss.
func runTimed(tb testing.TB, cmd *exec.Cmd, start time.Time, serviceDB, tenant string, hwm *atomic.Int64) ([]byte, string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	db, err := sql.Open("sqlite", "file:"+serviceDB+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	stop := make(chan struct{})
	done := make(chan string)
	var pid atomic.Int64
	go func() {
		var steps strings.Builder
		last, lastStep, any := start, "", false
		poll := func() {
			if p := pid.Load(); p > 0 {
				if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p)); err == nil {
					for line := range strings.SplitSeq(string(st), "\n") {
						var kb int64
						if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
							hwm.Store(max(hwm.Load(), kb<<10))
						}
					}
				}
			}
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
			// Steps recorded between two polls share the interval.
			var names []string
			for _, st := range move.Steps {
				if slices.Index(move.Steps, st) > slices.Index(move.Steps, move.Step(lastStep)) && slices.Index(move.Steps, st) <= slices.Index(move.Steps, move.Step(step)) {
					names = append(names, string(st))
				}
			}
			any, lastStep = true, step
			now := time.Now()
			fmt.Fprintf(&steps, "%s %.2f, ", strings.Join(names, "+"), now.Sub(last).Seconds())
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
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	pid.Store(int64(cmd.Process.Pid))
	err = cmd.Wait()
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
// With pipelined, an object larger than a part goes up from 3 part
// buffers at once (ConcurrentStreamParts), as the mover's copies do;
// without, minio-go reads a part, sends it, then reads the next.
func rawCopy(tb testing.TB, from *s3test.Server, fromBucket string, to *s3test.Server, toBucket string, objs []minio.ObjectInfo, pipelined bool) float64 {
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
				opts := minio.PutObjectOptions{PartSize: 8 << 20}
				if pipelined && o.Size > 8<<20 {
					opts.ConcurrentStreamParts, opts.NumThreads = true, 3
				}
				_, err = dst.PutObject(ctx, toBucket, o.Key, io.Reader(r), o.Size, opts)
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
