package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault/s3"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// upload streams size bytes of gen(seed) as a raw upload and returns the
// document id.
func (c *client) upload(tb testing.TB, matterID string, seed byte, size int64) string {
	tb.Helper()
	resp := c.request(tb, "POST", "/api/v1/matters/"+matterID+"/documents?name=bench-"+strconv.Itoa(int(seed))+".bin",
		&sizedReader{vaulttest.NewGen(seed, size), size}, http.Header{"Content-Type": {"application/octet-stream"}})
	return decodeDoc(tb, resp, http.StatusCreated).ID
}

// sizedReader tells net/http its length, so the upload carries a
// Content-Length like a browser's would.
type sizedReader struct {
	io.Reader
	n int64
}

func (s *sizedReader) Len() int { return int(s.n) }

// download reads a document whole and returns the bytes read.
func (c *client) download(tb testing.TB, id string) int64 {
	tb.Helper()
	resp := c.request(tb, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("download = %d", resp.StatusCode)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkServer_LargeRoundTrip uploads and then downloads a 1 GiB document
// through the real binary and reports the server's peak RSS over both, with
// the local default regions and with MinIO.
func BenchmarkServer_LargeRoundTrip(b *testing.B) {
	size := vaulttest.BenchSize(b, 1<<30)
	for _, backend := range []string{"fs", "minio"} {
		b.Run(backend, func(b *testing.B) {
			var srv *server
			if backend == "fs" {
				srv = startServer(b, newDataDir(b), "")
			} else {
				srv = startMinIOServer(b)
			}
			c, matterID := firstRun(b, srv)
			for i := 0; i < b.N; i++ {
				srv.ResetPeakRSS(b)
				h := sha256.New()
				start := time.Now()
				resp := c.request(b, "POST", "/api/v1/matters/"+matterID+"/documents?name=big.bin",
					io.TeeReader(vaulttest.NewGen(9, size), h), http.Header{"Content-Type": {"application/octet-stream"}})
				id := decodeDoc(b, resp, http.StatusCreated).ID
				up := time.Since(start)
				start = time.Now()
				resp = c.request(b, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
				h2 := sha256.New()
				n, err := io.Copy(h2, resp.Body)
				resp.Body.Close()
				down := time.Since(start)
				if err != nil || n != size || string(h.Sum(nil)) != string(h2.Sum(nil)) {
					b.Fatalf("round trip: %d bytes, %v", n, err)
				}
				peak := srv.PeakRSS(b)
				b.ReportMetric(float64(peak)/(1<<20), "server_peak_rss_MiB")
				b.ReportMetric(float64(size)/up.Seconds()/1e6, "up_MB/s")
				b.ReportMetric(float64(size)/down.Seconds()/1e6, "down_MB/s")
				fmt.Fprintf(os.Stderr, "server %s: %d MiB up %.0f MB/s, down %.0f MB/s, server peak RSS %.1f MiB\n",
					backend, size>>20, float64(size)/up.Seconds()/1e6, float64(size)/down.Seconds()/1e6, float64(peak)/(1<<20))
			}
		})
	}
}

// BenchmarkServer_Throughput measures upload and download through the
// server into MinIO at 1 and 16 concurrent clients, against raw minio-go
// Put/Get of the same bytes to the same server in the same run.
func BenchmarkServer_Throughput(b *testing.B) {
	total := vaulttest.BenchSize(b, 512<<20)
	// The clients share one account, so it may have as many uploads in
	// progress as there are clients.
	srv := startMinIOServer(b, "rate_limit:\n  per_user_uploads: 16\n")
	c, matterID := firstRun(b, srv)
	mc := s3test.Shared(b, s3test.KindMinIO)
	client, err := mc.Client()
	if err != nil {
		b.Fatal(err)
	}
	bucket := s3test.NewBucketName("raw")
	ctx := context.Background()
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		b.Fatal(err)
	}
	// The ceiling for any server between client and store: the raw objects
	// streamed through a process that does nothing else.
	pass := startPassThrough(b, mc, bucket)
	// What decrypting alone costs per GB, through the vault's code and as
	// bare AES-GCM: the pass-through proxy plus that is the least CPU a
	// download through a server that decrypts can take.
	decCPU, aesCPU := decryptCPU(b, 256<<20), aesGCMCPU(b)
	for _, conc := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", conc), func(b *testing.B) {
			each := total / int64(conc)
			parallel := func(f func(i int)) time.Duration {
				var wg sync.WaitGroup
				start := time.Now()
				for i := range conc {
					wg.Add(1)
					go func() { defer wg.Done(); f(i) }()
				}
				wg.Wait()
				return time.Since(start)
			}
			// Loopback figures on a shared 2-core machine swing by half from
			// one round to the next, so each b.N runs several rounds that
			// interleave vault and raw transfers, and the ratios reported
			// are the medians of the per-round ratios.
			var rawUp, rawDown, vUp, vDown time.Duration
			var passDown time.Duration
			var upRatios, downRatios, passRatios, ofPassRatios []float64
			// CPU seconds of the client (this process), the server (the
			// vault or the pass-through proxy) and MinIO, per phase: where
			// two shared cores go.
			cpuOf := func(server int) [3]float64 {
				var c [3]float64
				for i, pid := range []int{0, server, mc.Pid()} {
					if i == 1 && pid == 0 { // no server in the path
						continue
					}
					v, err := vaulttest.CPUSeconds(pid)
					if err != nil {
						b.Fatal(err)
					}
					c[i] = v
				}
				return c
			}
			var vDownCPU, rawDownCPU, passDownCPU, vUpCPU, rawUpCPU [3]float64
			// phase runs f on every client at once and adds the CPU time it
			// took to acc, with server as the process in the middle.
			phase := func(server int, acc *[3]float64, f func(i int)) time.Duration {
				before := cpuOf(server)
				d := parallel(f)
				after := cpuOf(server)
				for i := range acc {
					acc[i] += after[i] - before[i]
				}
				return d
			}
			srv.ResetPeakRSS(b)
			for n := 0; n < b.N*throughputRounds; n++ {
				ids := make([]string, conc)
				vu := phase(srv.Pid(), &vUpCPU, func(i int) { ids[i] = c.upload(b, matterID, byte(i), each) })
				vd := phase(srv.Pid(), &vDownCPU, func(i int) {
					if got := c.download(b, ids[i]); got != each {
						b.Errorf("download %d bytes, want %d", got, each)
					}
				})
				// Both raw uploads go to rawUpCPU: halved below.
				up1 := phase(0, &rawUpCPU, func(i int) {
					if _, err := client.PutObject(ctx, bucket, fmt.Sprintf("k%d", i), vaulttest.NewGen(byte(i), each), each, minio.PutObjectOptions{}); err != nil {
						b.Error(err)
					}
				})
				up2 := phase(0, &rawUpCPU, func(i int) {
					if _, err := client.PutObject(ctx, bucket, fmt.Sprintf("k%d", i), vaulttest.NewGen(byte(i), each), -1, minio.PutObjectOptions{
						PartSize: s3.DefaultPartSize, ConcurrentStreamParts: true, NumThreads: s3.DefaultStreamParts}); err != nil {
						b.Error(err)
					}
				})
				ru := min(up1, up2)
				rd := phase(0, &rawDownCPU, func(i int) {
					obj, err := client.GetObject(ctx, bucket, fmt.Sprintf("k%d", i), minio.GetObjectOptions{})
					if err != nil {
						b.Error(err)
						return
					}
					defer obj.Close()
					if n, err := io.Copy(io.Discard, obj); err != nil || n != each {
						b.Errorf("raw get %d bytes, %v", n, err)
					}
				})
				pd := phase(pass.Pid(), &passDownCPU, func(i int) {
					if got := pass.get(b, fmt.Sprintf("k%d", i)); got != each {
						b.Errorf("pass-through get %d bytes, want %d", got, each)
					}
				})
				passDown += pd
				passRatios = append(passRatios, rd.Seconds()/pd.Seconds())
				ofPassRatios = append(ofPassRatios, pd.Seconds()/vd.Seconds())
				vUp, vDown, rawUp, rawDown = vUp+vu, vDown+vd, rawUp+ru, rawDown+rd
				upRatios = append(upRatios, ru.Seconds()/vu.Seconds())
				downRatios = append(downRatios, rd.Seconds()/vd.Seconds())
			}
			mbps := func(d time.Duration) float64 {
				return float64(total) * float64(b.N*throughputRounds) / d.Seconds() / 1e6
			}
			upRatio, downRatio := median(upRatios), median(downRatios)
			passRatio, ofPassRatio := median(passRatios), median(ofPassRatios)
			b.ReportMetric(mbps(vUp), "vault_up_MB/s")
			b.ReportMetric(mbps(rawUp), "raw_up_MB/s")
			b.ReportMetric(upRatio, "up_ratio")
			b.ReportMetric(mbps(vDown), "vault_down_MB/s")
			b.ReportMetric(mbps(rawDown), "raw_down_MB/s")
			b.ReportMetric(downRatio, "down_ratio")
			b.ReportMetric(mbps(passDown), "passthrough_down_MB/s")
			b.ReportMetric(passRatio, "passthrough_down_ratio")
			b.ReportMetric(ofPassRatio, "vault_of_passthrough_down")
			gb := float64(total) * float64(b.N*throughputRounds) / 1e9
			sum := func(c [3]float64) float64 { return c[0] + c[1] + c[2] }
			// With every core busy, throughput goes as the inverse of CPU
			// per byte: the best ratios a decrypting server could reach.
			ceiling := sum(rawDownCPU) / (sum(passDownCPU) + decCPU*gb)
			floor := sum(rawDownCPU) / (sum(passDownCPU) + aesCPU*gb)
			b.ReportMetric(ceiling, "decrypting_ceiling_down_ratio")
			peak := srv.PeakRSS(b)
			b.ReportMetric(float64(peak)/(1<<20), "server_peak_rss_MiB")
			b.ReportMetric(floor, "aes_ceiling_down_ratio")
			perGB := func(c [3]float64, scale float64) string {
				return fmt.Sprintf("client %.2f, server %.2f, MinIO %.2f, total %.2f CPU-s/GB",
					c[0]*scale/gb, c[1]*scale/gb, c[2]*scale/gb, sum(c)*scale/gb)
			}
			fmt.Fprintf(os.Stderr, "  CPU down: vault %s; raw %s; pass-through %s\n  CPU up: vault %s; raw (mean of two puts) %s\n",
				perGB(vDownCPU, 1), perGB(rawDownCPU, 1), perGB(passDownCPU, 1), perGB(vUpCPU, 1), perGB(rawUpCPU, 0.5))
			b.ReportMetric(sum(vDownCPU)/gb, "vault_down_cpu_s/GB")
			b.ReportMetric(sum(rawDownCPU)/gb, "raw_down_cpu_s/GB")
			fmt.Fprintf(os.Stderr, "server+MinIO %d clients x %d MiB, %d rounds: up %.0f vs raw %.0f MB/s (median ratio %.2f, rounds %.2f); down %.0f vs raw %.0f MB/s (median ratio %.2f, rounds %.2f)\n",
				conc, each>>20, len(upRatios), mbps(vUp), mbps(rawUp), upRatio, upRatios, mbps(vDown), mbps(rawDown), downRatio, downRatios)
			fmt.Fprintf(os.Stderr, "  pass-through proxy down %.0f MB/s: %.2f of raw (rounds %.2f); the vault reaches %.2f of it (rounds %.2f)\n",
				mbps(passDown), passRatio, passRatios, ofPassRatio, ofPassRatios)
			fmt.Fprintf(os.Stderr, "  server peak RSS over the rounds: %.0f MiB\n", float64(peak)/(1<<20))
			fmt.Fprintf(os.Stderr, "  when the cores are saturated, a pass-through that also decrypts could reach at most %.2f of raw with the vault's decryption (%.2f CPU-s/GB), %.2f with bare AES-256-GCM (%.2f CPU-s/GB)\n",
				ceiling, decCPU, floor, aesCPU)
		})
	}
}

// throughputRounds is how many interleaved vault and raw rounds
// BenchmarkServer_Throughput runs per b.N.
const throughputRounds = 5

// median returns the middle value of xs (the mean of the middle two for an
// even count); xs is reordered.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
