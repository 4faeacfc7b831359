package vault_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/s3"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkService_LargeDocument streams a 1 GiB document through the
// service into the fs store and into MinIO, reads it back whole and checks
// it byte for byte (SHA-256), then reads 1 MiB at offset 900 MiB and counts
// the ciphertext fetched. It reports throughput, the process's peak RSS
// during the round trip, and the range's fetched bytes and parts.
func BenchmarkService_LargeDocument(b *testing.B) {
	size := vaulttest.BenchSize(b, 1<<30)
	b.Run("fs", func(b *testing.B) {
		st, err := fs.New(filepath.Join(b.TempDir(), "us"))
		if err != nil {
			b.Fatal(err)
		}
		benchLargeDocument(b, st, size)
	})
	b.Run("minio", func(b *testing.B) {
		srv := s3test.Shared(b, s3test.KindMinIO)
		benchLargeDocument(b, srv.NewStore(b, "large"), size)
	})
}

func benchLargeDocument(b *testing.B, store vault.BlobStore, size int64) {
	cs := &countingStore{BlobStore: store}
	e := newEnv(b, map[string]vault.BlobStore{"us": cs})
	tenant, owner := e.firm(b, "Bench LLP", "us")
	m := e.matter(b, owner, "M")
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		vaulttest.ResetPeakRSS(0)
		h := sha256.New()
		src := io.TeeReader(vaulttest.NewGen(42, size), h)
		start := time.Now()
		d, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "big.bin"}, src, -1)
		if err != nil {
			b.Fatal(err)
		}
		up := time.Since(start)
		want := h.Sum(nil)

		start = time.Now()
		c, err := e.Svc.OpenVersion(ctx, owner, d.ID, 0, vault.PermDownload)
		if err != nil {
			b.Fatal(err)
		}
		rc, err := c.Range(ctx, 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		got, n := hashOf(b, rc)
		rc.Close()
		down := time.Since(start)
		if n != size || string(got[:]) != string(want) {
			b.Fatalf("round trip of %d bytes: read %d bytes, hash match %v", size, n, string(got[:]) == string(want))
		}
		peak, err := vaulttest.PeakRSS(0)
		if err != nil {
			b.Fatal(err)
		}

		// 1 MiB at offset 900/1024 of the size (900 MiB for 1 GiB).
		off := size / 1024 * 900
		cs.read.Store(0)
		cs.gets.Store(0)
		rc, err = c.Range(ctx, off, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
		v, _ := e.DB.Version(ctx, tenant.ID, d.ID, 1)
		fetched := cs.read.Load()
		parts := float64(fetched) / float64(v.PartCipherSize)
		if fetched > 2*int64(v.PartCipherSize)+64 {
			b.Fatalf("1 MiB range fetched %d bytes, more than 2 parts", fetched)
		}
		b.ReportMetric(float64(size)/up.Seconds()/1e6, "up_MB/s")
		b.ReportMetric(float64(size)/down.Seconds()/1e6, "down_MB/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak_rss_MiB")
		b.ReportMetric(float64(fetched), "range_fetched_B")
		b.ReportMetric(parts, "range_parts")
		fmt.Fprintf(os.Stderr, "large document %d MiB: up %.0f MB/s, down %.0f MB/s, peak RSS %.1f MiB, 1 MiB range at %d fetched %d bytes (%.2f parts, %d requests)\n",
			size>>20, float64(size)/up.Seconds()/1e6, float64(size)/down.Seconds()/1e6, float64(peak)/(1<<20), off, fetched, parts, cs.gets.Load())
	}
}

// BenchmarkS3_EncryptVsRaw compares, on the same MinIO server in the same
// run, encrypt-and-store through the service with a raw minio-go PutObject of
// the same bytes, and decrypt-and-read with a raw GetObject. It reports both
// throughputs and their ratio.
func BenchmarkS3_EncryptVsRaw(b *testing.B) {
	size := vaulttest.BenchSize(b, 256<<20)
	srv := s3test.Shared(b, s3test.KindMinIO)
	store := srv.NewStore(b, "ratio")
	client := store.Client()
	bucket := store.Bucket()
	e := newEnv(b, map[string]vault.BlobStore{"us": store})
	_, owner := e.firm(b, "Bench LLP", "us")
	m := e.matter(b, owner, "M")
	ctx := context.Background()

	var rawUp, rawUpStream, rawDown, svcUp, svcDown time.Duration
	for i := 0; i < b.N; i++ {
		// Alternate the order so neither side always runs on a warmer server.
		rawFirst := i%2 == 0
		for _, raw := range []bool{rawFirst, !rawFirst} {
			if raw {
				key := "raw/" + strconv.Itoa(i)
				start := time.Now()
				if _, err := client.PutObject(ctx, bucket, key, vaulttest.NewGen(7, size), size, minio.PutObjectOptions{}); err != nil {
					b.Fatal(err)
				}
				rawUp += time.Since(start)
				// The same bytes of unknown length, with the part buffers
				// the S3 store itself uses.
				start = time.Now()
				if _, err := client.PutObject(ctx, bucket, key+"s", vaulttest.NewGen(7, size), -1, minio.PutObjectOptions{
					PartSize: s3.DefaultPartSize, ConcurrentStreamParts: true, NumThreads: s3.DefaultStreamParts,
				}); err != nil {
					b.Fatal(err)
				}
				rawUpStream += time.Since(start)
				client.RemoveObject(ctx, bucket, key+"s", minio.RemoveObjectOptions{})
				start = time.Now()
				obj, err := client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, n := hashOf(b, obj); n != size {
					b.Fatalf("raw get %d bytes", n)
				}
				obj.Close()
				rawDown += time.Since(start)
				client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
				continue
			}
			start := time.Now()
			d, err := e.Svc.PutDocument(ctx, owner, vault.NewDocument{MatterID: m.ID, Name: "b.bin"}, vaulttest.NewGen(7, size), size)
			if err != nil {
				b.Fatal(err)
			}
			svcUp += time.Since(start)
			start = time.Now()
			c, err := e.Svc.OpenVersion(ctx, owner, d.ID, 0, vault.PermDownload)
			if err != nil {
				b.Fatal(err)
			}
			rc, err := c.Range(ctx, 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			if _, n := hashOf(b, rc); n != size {
				b.Fatalf("service read %d bytes", n)
			}
			rc.Close()
			svcDown += time.Since(start)
		}
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	// The ratio is against the faster of the two raw uploads.
	rawUp = min(rawUp, rawUpStream)
	b.ReportMetric(mbps(rawUpStream), "raw_put_stream_MB/s")
	b.ReportMetric(mbps(rawUp), "raw_put_best_MB/s")
	b.ReportMetric(mbps(svcUp), "vault_put_MB/s")
	b.ReportMetric(rawUp.Seconds()/svcUp.Seconds(), "put_ratio")
	b.ReportMetric(mbps(rawDown), "raw_get_MB/s")
	b.ReportMetric(mbps(svcDown), "vault_get_MB/s")
	b.ReportMetric(rawDown.Seconds()/svcDown.Seconds(), "get_ratio")
	fmt.Fprintf(os.Stderr, "MinIO %d MiB x%d: put raw (best of known-size and streamed) %.0f MB/s, vault %.0f MB/s (ratio %.2f); get raw %.0f MB/s, vault %.0f MB/s (ratio %.2f)\n",
		size>>20, b.N, mbps(rawUp), mbps(svcUp), rawUp.Seconds()/svcUp.Seconds(), mbps(rawDown), mbps(svcDown), rawDown.Seconds()/svcDown.Seconds())
}
