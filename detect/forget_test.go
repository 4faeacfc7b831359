package detect_test

import (
	"context"
	"testing"
	"time"

	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// TestEngine_Forget: a firm the engine forgot (a shred) has nothing of it
// written by a later Flush, and its later events are not counted.
func TestEngine_Forget(t *testing.T) {
	ctx := context.Background()
	v := vaulttest.Open(t, t.TempDir(), nil)
	ten, _, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: "F", Region: "us", Owner: vault.NewUser{Email: "o@f.example"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{tb: t, e: detect.New(detect.Options{Store: v.DB})}
	for i := range 3 {
		ev := read("usr_a", t0.Add(time.Duration(i)*time.Second), "m")
		ev.TenantID = ten.ID
		f.obs(ev, "", "")
	}
	f.e.Forget(ten.ID)
	ev := read("usr_a", t0.Add(time.Minute), "m")
	ev.TenantID = ten.ID
	f.obs(ev, "", "")
	if err := f.e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := v.DB.HourlyCounts(ctx, ten.ID, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("after Forget, Flush wrote %+v; want nothing", counts)
	}
}
