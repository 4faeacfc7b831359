package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// durabilityBody is the JSON of GET /api/v1/durability.
type durabilityBody struct {
	Region  string `json:"region"`
	Backups []struct {
		Database        string     `json:"database"`
		LastSync        *time.Time `json:"last_sync"`
		AgeSeconds      float64    `json:"age_seconds"`
		IntervalSeconds float64    `json:"interval_seconds"`
		Stale           bool       `json:"stale"`
	} `json:"backups"`
	Drill *struct {
		ID         string   `json:"id"`
		OK         bool     `json:"ok"`
		RPOSeconds *float64 `json:"rpo_seconds"`
		RTOSeconds *float64 `json:"rto_seconds"`
		Failure    string   `json:"failure"`
	} `json:"drill"`
	Mirror *struct {
		Pending int64 `json:"pending"`
	} `json:"mirror"`
}

// durabilityServer starts a second server on e's vault whose figures say:
// us's audit backup last synced 10 minutes ago (stale), everything else 5
// seconds ago; ca's last drill passed, us's failed; ca has a mirror.
func durabilityServer(t *testing.T, e *env) *web.Server {
	t.Helper()
	return e.server(t, func(s *web.Server) {
		s.Durability = func(region string) vault.Durability {
			now := e.Svc.Now()
			d := vault.Durability{Region: region, Backups: []vault.BackupStatus{
				{Database: "casevault", LastSync: now.Add(-5 * time.Second), Interval: 10 * time.Second, Since: now.Add(-time.Hour)},
				{Database: "audit", LastSync: now.Add(-5 * time.Second), Interval: 10 * time.Second, Since: now.Add(-time.Hour)},
			}}
			switch region {
			case "us":
				d.Backups[1].LastSync = now.Add(-10 * time.Minute)
				d.Drill = &vault.DrillSummary{ID: "drl_us", Started: now.Add(-time.Hour), Finished: now.Add(-time.Hour), Failure: "the backup does not restore"}
			case "ca":
				d.Drill = &vault.DrillSummary{ID: "drl_ca", Started: now.Add(-time.Hour), Finished: now.Add(-time.Hour), OK: true, RPO: 7 * time.Second, RTO: 3 * time.Second}
				d.Mirror = &vault.MirrorStats{Required: true, Pending: 2}
			}
			return d
		}
	})
}

// on returns c pointed at srv.
func on(c *client, srv *web.Server) *client {
	return &client{base: srv.URL(), hc: c.hc, token: c.token}
}

func TestServer_Durability(t *testing.T) {
	e := newEnv(t)
	srv := durabilityServer(t, e)
	caOwner, ca := e.firm(t, "ca")
	usOwner, _ := e.firm(t, "us")
	auditor, _ := e.user(t, ca.TenantID, vault.RoleAuditor)
	admin, _ := e.user(t, ca.TenantID, vault.RoleAdmin)
	lawyer, _ := e.user(t, ca.TenantID, vault.RoleLawyer)

	for _, tt := range []struct {
		name   string
		c      *client
		status int
		region string
	}{
		{"Owner", caOwner, http.StatusOK, "ca"},
		{"Auditor", auditor, http.StatusOK, "ca"},
		{"OtherFirmsOwner", usOwner, http.StatusOK, "us"},
		{"Admin", admin, http.StatusForbidden, ""},
		{"Lawyer", lawyer, http.StatusForbidden, ""},
		{"Anonymous", e.client(), http.StatusUnauthorized, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := on(tt.c, srv)
			if tt.status != http.StatusOK {
				resp, body := c.read(t, "GET", "/api/v1/durability", nil, nil)
				wantError(t, resp, body, tt.status, map[int]string{403: vault.EFORBIDDEN, 401: vault.EUNAUTHORIZED}[tt.status])
				return
			}
			var d durabilityBody
			raw := c.json(t, "GET", "/api/v1/durability", nil, http.StatusOK, &d)
			if d.Region != tt.region || len(d.Backups) != 2 || d.Drill == nil {
				t.Fatalf("got %s, want region %s's two backups and its drill", raw, tt.region)
			}
			// Nothing of another region, no paths, no credentials.
			for _, bad := range []string{map[string]string{"ca": "drl_us", "us": "drl_ca"}[tt.region], e.Dir, "secret", "access_key"} {
				if strings.Contains(string(raw), bad) {
					t.Errorf("the answer holds %q: %s", bad, raw)
				}
			}
			switch tt.region {
			case "us":
				if d.Backups[0].Stale || !d.Backups[1].Stale || d.Backups[1].AgeSeconds < 599 {
					t.Errorf("us backups: got %+v, want audit stale (10 minutes old), casevault fresh", d.Backups)
				}
				if d.Drill.OK || d.Drill.RPOSeconds != nil || d.Drill.Failure == "" || d.Mirror != nil {
					t.Errorf("us drill %+v mirror %+v: want a failure without figures, no mirror", d.Drill, d.Mirror)
				}
			case "ca":
				if d.Backups[0].Stale || d.Backups[1].Stale || d.Backups[0].IntervalSeconds != 10 {
					t.Errorf("ca backups: got %+v, want both fresh, interval 10 s", d.Backups)
				}
				if !d.Drill.OK || d.Drill.RPOSeconds == nil || *d.Drill.RPOSeconds != 7 || *d.Drill.RTOSeconds != 3 || d.Mirror == nil || d.Mirror.Pending != 2 {
					t.Errorf("ca drill %+v mirror %+v: want ok, rpo 7, rto 3, mirror pending 2", d.Drill, d.Mirror)
				}
			}
		})
	}

	t.Run("Readyz", func(t *testing.T) {
		var r struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		on(e.client(), srv).json(t, "GET", "/readyz", nil, http.StatusOK, &r)
		if r.Status != "ok" || r.Checks["backup:us"] != "stale" || r.Checks["backup:ca"] != "ok" {
			t.Errorf("/readyz = %+v, want ok with backup:us stale and backup:ca ok", r)
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		resp, err := http.Get(srv.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`casevault_backup_stale{database="audit",region="us"} 1`,
			`casevault_backup_stale{database="audit",region="ca"} 0`,
			`casevault_drill_last_ok{region="us"} 0`,
			`casevault_drill_last_ok{region="ca"} 1`,
			`casevault_drill_rpo_seconds{region="ca"} 7`,
			`casevault_drill_rto_seconds{region="ca"} 3`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/metrics lacks %s:\n%s", want, b)
			}
		}
		if strings.Contains(string(b), `casevault_drill_rpo_seconds{region="us"}`) {
			t.Error("/metrics shows an RPO for us's failed drill")
		}
	})
}

func TestServer_DurabilityOff(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "ca")
	var d durabilityBody
	raw := owner.json(t, "GET", "/api/v1/durability", nil, http.StatusOK, &d)
	if d.Region != "ca" || len(d.Backups) != 0 || d.Drill != nil || d.Mirror != nil {
		t.Errorf("without figures: got %s, want region ca with no backups, drill or mirror", raw)
	}
	if !strings.Contains(string(raw), `"backups":[]`) {
		t.Errorf("backups must be a list: %s", raw)
	}
}
