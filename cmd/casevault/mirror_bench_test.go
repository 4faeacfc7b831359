package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault/mirror"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkMirror runs one server with two regions on two MinIO processes:
// us stores on MinIO A alone, ca on MinIO A with a required mirror on
// MinIO B, each site reached through its own link (a loopback proxy,
// s3test.Link). It reports the upload throughput of each through the real
// server (rounds interleaved, the ratio the median of the rounds' ratios;
// target ≥ 0.8) twice: with the links uncapped, where both MinIO processes
// and the server share this machine's CPU (the mirror's MinIO then takes
// its CPU from the primary's), and with each link capped at
// CASEVAULT_BENCH_LINK_MBPS (default 32 MB/s), as a second site reached
// over a network is. Then the speed of `casevault scrub` in objects per
// second: with both sites in sync (by size; and --deep, reading both
// copies), and with the primary emptied (every object copied).
func BenchmarkMirror(b *testing.B) {
	total := vaulttest.BenchSize(b, 256<<20)
	const conc = 4
	a, m := s3test.MinIO(b), s3test.MinIO(b)
	linkRate := 32.0
	if v := os.Getenv("CASEVAULT_BENCH_LINK_MBPS"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			b.Fatalf("CASEVAULT_BENCH_LINK_MBPS=%q: want a number of MB/s", v)
		}
		linkRate = f
	}
	// One link per site: us's MinIO A, ca's MinIO A and ca's mirror.
	links := []*s3test.Link{s3test.NewLink(b, a.Endpoint), s3test.NewLink(b, a.Endpoint), s3test.NewLink(b, m.Endpoint)}
	outside := b.TempDir()
	dataDir := filepath.Join(outside, "data")
	usBucket, caBucket, mirBucket := s3test.NewBucketName("single"), s3test.NewBucketName("primary"), s3test.NewBucketName("mirror")
	yml := fmt.Sprintf(`rate_limit:
  per_user_uploads: 16
  per_user_per_second: 1000
  per_user_burst: 1000
regions:
  us:
    type: s3
    endpoint: %[1]s
    bucket: %[2]s
    secure: false
    create_bucket: true
    master_key: {type: file}
    backup: off
  ca:
    type: s3
    endpoint: %[3]s
    bucket: %[4]s
    secure: false
    create_bucket: true
    master_key: {type: file}
    backup: off
    scrub_interval: off
    mirror: {type: s3, endpoint: %[5]s, bucket: %[6]s, secure: false, create_bucket: true}
`, links[0].Endpoint, usBucket, links[1].Endpoint, caBucket, links[2].Endpoint, mirBucket)
	cfg := filepath.Join(outside, "casevault.yaml")
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		b.Fatal(err)
	}
	env := []string{
		"CASEVAULT_REGION_US_ACCESS_KEY=" + a.AccessKey, "CASEVAULT_REGION_US_SECRET_KEY=" + a.SecretKey,
		"CASEVAULT_REGION_CA_ACCESS_KEY=" + a.AccessKey, "CASEVAULT_REGION_CA_SECRET_KEY=" + a.SecretKey,
		"CASEVAULT_REGION_CA_MIRROR_ACCESS_KEY=" + m.AccessKey, "CASEVAULT_REGION_CA_MIRROR_SECRET_KEY=" + m.SecretKey,
	}
	for _, e := range env {
		k, v, _ := cutEnv(e)
		b.Setenv(k, v)
	}
	cliB := func(args ...string) string {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(args, "--data-dir", dataDir, "--config", cfg), &out, &errOut); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	firm := func(region string) (string, string) {
		var f struct {
			OwnerPassword string `json:"owner_password"`
		}
		json.Unmarshal([]byte(cliB("tenant", "create", "--name", "Bench "+region, "--region", region, "--owner-email", "owner@"+region+".example", "--json")), &f)
		return "owner@" + region + ".example", f.OwnerPassword
	}
	usEmail, usPass := firm("us")
	caEmail, caPass := firm("ca")
	srv := startServer(b, dataDir, cfg, env...)
	signIn := func(email, pass string) (*client, string) {
		c := newClient(srv.URL)
		var login struct{ Token string }
		c.json(b, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pass}, http.StatusOK, &login)
		c.token = login.Token
		var matter struct{ ID string }
		c.json(b, "POST", "/api/v1/matters", map[string]string{"name": "Bench", "client": "Bench"}, http.StatusCreated, &matter)
		return c, matter.ID
	}
	us, usMatter := signIn(usEmail, usPass)
	ca, caMatter := signIn(caEmail, caPass)

	each := total / conc
	uploadAll := func(c *client, matter string, seed byte) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for i := range conc {
			wg.Go(func() { c.upload(b, matter, seed+byte(i), each) })
		}
		wg.Wait()
		return time.Since(start)
	}
	// CPU seconds of the server and of each MinIO, per kind of upload:
	// on a shared 2-core machine the second site's work is CPU taken
	// from the rest.
	pids := []int{srv.Pid(), a.Pid(), m.Pid()}
	cpu := func() (c [3]float64) {
		for i, pid := range pids {
			v, err := vaulttest.CPUSeconds(pid)
			if err != nil {
				b.Fatal(err)
			}
			c[i] = v
		}
		return c
	}
	gb := float64(total) * float64(b.N*3) / 1e9
	mb := func(d time.Duration) float64 { return float64(total) * float64(b.N*3) / d.Seconds() / 1e6 }
	// rounds uploads to each region in turn, b.N*3 rounds interleaved, and
	// returns both throughputs and the median ratio.
	rounds := func(label string) (float64, float64, float64) {
		var singleCPU, mirroredCPU [3]float64
		timed := func(acc *[3]float64, c *client, matter string, seed byte) time.Duration {
			before := cpu()
			d := uploadAll(c, matter, seed)
			after := cpu()
			for i := range acc {
				acc[i] += after[i] - before[i]
			}
			return d
		}
		var single, mirrored time.Duration
		var ratios []float64
		for n := 0; n < b.N*3; n++ {
			var ds, dm time.Duration
			if n%2 == 0 {
				ds = timed(&singleCPU, us, usMatter, byte(n))
				dm = timed(&mirroredCPU, ca, caMatter, byte(n))
			} else {
				dm = timed(&mirroredCPU, ca, caMatter, byte(n))
				ds = timed(&singleCPU, us, usMatter, byte(n))
			}
			single += ds
			mirrored += dm
			ratios = append(ratios, ds.Seconds()/dm.Seconds())
		}
		slices.Sort(ratios)
		ratio := ratios[len(ratios)/2]
		b.Logf("%s: CPU seconds per GB uploaded (server, MinIO A, MinIO B): single %.1f, %.1f, %.1f; mirrored %.1f, %.1f, %.1f",
			label, singleCPU[0]/gb, singleCPU[1]/gb, singleCPU[2]/gb, mirroredCPU[0]/gb, mirroredCPU[1]/gb, mirroredCPU[2]/gb)
		b.Logf("%s: upload, %d clients × %d MiB: single MinIO %.1f MB/s, required mirror (MinIO+MinIO) %.1f MB/s, ratio (median of %d rounds) %.2f",
			label, conc, each>>20, mb(single), mb(mirrored), len(ratios), ratio)
		return mb(single), mb(mirrored), ratio
	}
	cs, cm, cr := rounds("links uncapped (one shared CPU)")
	for _, l := range links {
		l.SetRate(linkRate * 1e6)
	}
	ls, lm, lr := rounds(fmt.Sprintf("links capped at %.0f MB/s", linkRate))
	for _, l := range links {
		l.SetRate(0)
	}
	b.ReportMetric(cs, "single_MB/s")
	b.ReportMetric(cm, "mirrored_MB/s")
	b.ReportMetric(cr, "ratio_cpu")
	b.ReportMetric(ls, "linked_single_MB/s")
	b.ReportMetric(lm, "linked_mirrored_MB/s")
	b.ReportMetric(lr, "ratio")

	// Scrub speed over many small objects.
	const small = 500
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range small {
		sem <- struct{}{}
		wg.Go(func() { defer func() { <-sem }(); ca.upload(b, caMatter, byte(i), 16<<10) })
	}
	wg.Wait()
	srv.Stop(b)
	scrub := func(extra ...string) (mirror.ScrubReport, float64) {
		var rep mirror.ScrubReport
		if err := json.Unmarshal([]byte(cliB(append([]string{"scrub", "--region", "ca", "--json"}, extra...)...)), &rep); err != nil {
			b.Fatal(err)
		}
		return rep, float64(rep.Checked) / rep.Duration.Seconds()
	}
	rep, inSync := scrub()
	_, deep := scrub("--deep")
	ac, err := a.Client()
	if err != nil {
		b.Fatal(err)
	}
	for o := range ac.ListObjects(context.Background(), caBucket, minio.ListObjectsOptions{Recursive: true}) {
		if err := ac.RemoveObject(context.Background(), caBucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	repC, copying := scrub()
	if repC.Copied != rep.Checked {
		b.Errorf("scrub after emptying the primary copied %d, want %d", repC.Copied, rep.Checked)
	}
	b.ReportMetric(inSync, "scrub_objects/s")
	b.ReportMetric(deep, "scrub_deep_objects/s")
	b.ReportMetric(copying, "scrub_copy_objects/s")
	b.Logf("scrub of %d objects (%d large, the rest 16 KiB): in sync %.0f objects/s, --deep %.0f objects/s, copying every one %.0f objects/s",
		rep.Checked, rep.Checked-small, inSync, deep, copying)
}

func cutEnv(e string) (string, string, bool) {
	for i := range e {
		if e[i] == '=' {
			return e[:i], e[i+1:], true
		}
	}
	return e, "", false
}
