// Package vaulttest is test support shared by the packages that test a whole
// vault: the wiring of real parts (a SQLite file, Tink keys under file master
// keys, local region stores), streamed test data, and process measurements
// for benchmarks. Only tests import it.
package vaulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/sqlite"
)

// Vault is a vault.Service over real parts, all under one directory.
type Vault struct {
	Dir     string
	DB      *sqlite.DB
	Keys    *keys.Manager
	Svc     *vault.Service
	Stores  map[string]vault.BlobStore
	Masters map[string]keys.MasterKey
	// Clock is the service's clock; tests move it instead of sleeping.
	Clock *Clock
	// Audit is the service's audit log.
	Audit *MemAudit
}

// Clock is real time plus an offset that tests move forward, safe for
// concurrent use by a running server.
type Clock struct{ offset atomic.Int64 }

// Now is the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())).UTC() }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// FastPasswords are argon2id costs small enough for tests.
var FastPasswords = vault.PasswordParams{Memory: 1024, Time: 1, Threads: 1}

// Open opens the vault in dir: regions us and ca on fs stores under
// dir/regions unless stores are given, a master key per region under
// dir/keys, and the database dir/casevault.db, closed by tb.Cleanup.
// Reopening the same dir sees the same data and keys.
func Open(tb testing.TB, dir string, stores map[string]vault.BlobStore) *Vault {
	tb.Helper()
	if stores == nil {
		stores = map[string]vault.BlobStore{}
		for _, r := range []string{"us", "ca"} {
			s, err := fs.New(filepath.Join(dir, "regions", r))
			if err != nil {
				tb.Fatal(err)
			}
			stores[r] = s
		}
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "casevault.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	masters := map[string]keys.MasterKey{}
	for r := range stores {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "keys", r+"-master.json"))
		if err != nil {
			tb.Fatal(err)
		}
		masters[r] = mk
	}
	km, err := keys.NewManager(masters, db)
	if err != nil {
		tb.Fatal(err)
	}
	db.Sealer = km
	svc := vault.NewService(db, km, stores, zerolog.Nop())
	svc.PasswordParams = FastPasswords
	if svc.Indexer, err = keys.LoadOrCreateIndexer(context.Background(), masters, "us", func(name string) string {
		return filepath.Join(dir, "keys", name+"-index.json")
	}); err != nil {
		tb.Fatal(err)
	}
	if err := db.SealPlaintext(context.Background(), svc.Indexer); err != nil {
		tb.Fatal(err)
	}
	clock := &Clock{}
	svc.Now = clock.Now
	al := &MemAudit{}
	svc.Audit = al
	return &Vault{Dir: dir, DB: db, Keys: km, Svc: svc, Stores: stores, Masters: masters, Clock: clock, Audit: al}
}

// Gen streams n deterministic pseudo-random bytes for a seed without
// holding them, so tests can move documents far larger than they keep.
type Gen struct {
	r *rand.ChaCha8
	n int64
}

// NewGen returns the stream of n bytes for seed.
func NewGen(seed byte, n int64) *Gen { return &Gen{r: rand.NewChaCha8([32]byte{seed}), n: n} }

// Read yields the next bytes of the stream.
func (g *Gen) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n, _ := g.r.Read(p)
	g.n -= int64(n)
	return n, nil
}

// GenBytes returns bytes [off, off+n) of the stream for seed.
func GenBytes(seed byte, off, n int64) []byte {
	g := NewGen(seed, off+n)
	io.CopyN(io.Discard, g, off)
	b := make([]byte, n)
	io.ReadFull(g, b)
	return b
}

// BenchSize returns CASEVAULT_BENCH_SIZE in bytes (with an optional MiB or
// GiB suffix), or def when it is unset.
func BenchSize(tb testing.TB, def int64) int64 {
	tb.Helper()
	v := os.Getenv("CASEVAULT_BENCH_SIZE")
	if v == "" {
		return def
	}
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "GiB"):
		mult, v = 1<<30, strings.TrimSuffix(v, "GiB")
	case strings.HasSuffix(v, "MiB"):
		mult, v = 1<<20, strings.TrimSuffix(v, "MiB")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		tb.Fatalf("CASEVAULT_BENCH_SIZE=%q: %v", os.Getenv("CASEVAULT_BENCH_SIZE"), err)
	}
	return n * mult
}

// procPath names a file under /proc for pid, or for this process when pid
// is 0.
func procPath(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return fmt.Sprintf("/proc/%d/%s", pid, name)
}

// ResetPeakRSS clears the kernel's high-water mark of a process's resident
// set (Linux clear_refs, value 5); pid 0 is this process.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(procPath(pid, "clear_refs"), []byte("5"), 0)
}

// PeakRSS returns a process's peak resident set since the last reset
// (VmHWM), in bytes; pid 0 is this process.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in %s", procPath(pid, "status"))
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers, for
// capturing logs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CPUSeconds returns the user plus system CPU time a process has used, in
// seconds; pid 0 is this process. Benchmarks compare it before and after a
// phase to say where the machine's cores went.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis (state is field 3; utime 14, stime 15).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected %s", procPath(pid, "stat"))
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected %s", procPath(pid, "stat"))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected %s", procPath(pid, "stat"))
	}
	const clockTicks = 100 // USER_HZ on Linux
	return float64(utime+stime) / clockTicks, nil
}
