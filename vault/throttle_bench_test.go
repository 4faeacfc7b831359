package vault_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkService_LoginThrottle measures sign-in latency with 32 clients at
// once, each its own user at its own address, with the database-backed
// throttle and with the in-memory limiter of earlier versions, on the same
// Service in the same run: twelve short rounds of each, alternating, so that
// both see the same load from the rest of the machine.
// Passwords are hashed with the production argon2id costs and sign-ins are
// recorded in the real audit log; one attempt in eight has a wrong
// password. It reports p50 and p99 of each and the p99 ratio, memory over
// database: 1 means the database costs nothing, the target is at least 0.8.
func BenchmarkService_LoginThrottle(b *testing.B) {
	const clients, perClient, rounds = 32, 2, 12
	v := vaulttest.Open(b, b.TempDir(), nil)
	vaulttest.UseAuditLog(b, v, nil)
	v.Svc.PasswordParams = vault.DefaultPasswordParams
	ctx := context.Background()
	tenant, _, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Bench LLP", Region: "us", Owner: vault.NewUser{Email: "owner@bench.example"}})
	if err != nil {
		b.Fatal(err)
	}
	emails := make([]string, clients)
	for i := range emails {
		emails[i] = fmt.Sprintf("lawyer%d@bench.example", i)
		if _, _, err := v.Svc.AddUser(ctx, tenant.ID, vault.NewUser{Email: emails[i], Role: vault.RoleLawyer, Password: testPassword}); err != nil {
			b.Fatal(err)
		}
	}
	throttles := []struct {
		name string
		th   vault.Throttle // nil: the Service's default, the database
	}{{"memory", vault.NewMemoryThrottle()}, {"database", nil}}
	for _, x := range throttles { // warm up both paths
		v.Svc.Throttle = x.th
		signInLoad(b, v.Svc, emails, 1)
	}

	lat := map[string][]time.Duration{}
	busy := map[string]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for round := range rounds {
			for j := range throttles {
				x := throttles[(j+round)%len(throttles)]
				v.Svc.Throttle = x.th
				d, ls := signInLoad(b, v.Svc, emails, perClient)
				lat[x.name] = append(lat[x.name], ls...)
				busy[x.name] += d
			}
		}
	}
	b.StopTimer()
	v.Svc.Throttle = nil

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	p := func(name string, q float64) time.Duration {
		l := slices.Clone(lat[name])
		slices.Sort(l)
		return l[min(len(l)-1, int(q*float64(len(l))))]
	}
	for _, x := range throttles {
		b.ReportMetric(ms(p(x.name, 0.50)), x.name+"-p50-ms")
		b.ReportMetric(ms(p(x.name, 0.99)), x.name+"-p99-ms")
		b.ReportMetric(float64(len(lat[x.name]))/busy[x.name].Seconds(), x.name+"-signins/s")
	}
	b.ReportMetric(float64(p("memory", 0.99))/float64(p("database", 0.99)), "p99-ratio")
	b.ReportMetric(0, "ns/op")
}

// signInLoad runs perClient sign-ins on each of the emails at once, each
// from its own address, and returns the time it took and every attempt's
// latency. One attempt in eight has a wrong password.
func signInLoad(b *testing.B, svc *vault.Service, emails []string, perClient int) (time.Duration, []time.Duration) {
	b.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	for i, email := range emails {
		source := fmt.Sprintf("198.51.100.%d", i)
		wg.Go(func() {
			mine := make([]time.Duration, 0, perClient)
			for j := range perClient {
				password, want := testPassword, ""
				if (i*perClient+j)%8 == 7 {
					password, want = "wrong password!", vault.EUNAUTHORIZED
				}
				t0 := time.Now()
				_, _, err := svc.Login(context.Background(), email, password, source)
				mine = append(mine, time.Since(t0))
				if got := vault.ErrorCode(err); got != want {
					b.Errorf("Login = %v, want code %q", err, want)
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return time.Since(start), lat
}

// BenchmarkThrottle_Overhead measures the throttle alone, without the
// password hash: 32 clients at once each check and succeed 50 times, with
// the database-backed throttle (a read, a charge and a refund, each write
// committed to the WAL with fsync) and with the in-memory limiter. It
// reports p50 and p99 per sign-in of each.
func BenchmarkThrottle_Overhead(b *testing.B) {
	const clients, perClient = 32, 50
	v := vaulttest.Open(b, b.TempDir(), nil)
	throttles := []struct {
		name string
		th   vault.Throttle
	}{{"memory", vault.NewMemoryThrottle()}, {"database", v.Svc.DefaultThrottle()}}
	lat := map[string][]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for _, x := range throttles {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i := range clients {
				account, source := fmt.Sprintf("lawyer%d@bench.example", i), fmt.Sprintf("198.51.100.%d", i)
				wg.Go(func() {
					mine := make([]time.Duration, 0, perClient)
					for range perClient {
						t0 := time.Now()
						a, err := x.th.Check(context.Background(), account, source, time.Now())
						if err == nil && a.Allowed {
							err = x.th.Succeeded(context.Background(), a)
						}
						mine = append(mine, time.Since(t0))
						if err != nil || !a.Allowed {
							b.Errorf("Check = %+v, %v", a, err)
							return
						}
					}
					mu.Lock()
					lat[x.name] = append(lat[x.name], mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
		}
	}
	b.StopTimer()
	for _, x := range throttles {
		l := lat[x.name]
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2])/float64(time.Millisecond), x.name+"-p50-ms")
		b.ReportMetric(float64(l[min(len(l)-1, len(l)*99/100)])/float64(time.Millisecond), x.name+"-p99-ms")
	}
	b.ReportMetric(0, "ns/op")
}
