package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/config"
)

const witnessKey = "witness.example+0a1b2c3d+BPj3hK2OvMbcbzJeVAw3ip+KNUx23vC0zqXRqhMm1kvU"

func TestConfig_AuditWitnesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.yaml")
	const yml = `
audit:
  witness_timeout: 3s
  witnesses:
    - name: witness.example
      url: https://witness.example
      key: ` + witnessKey + `
    - name: firm.example
      url: http://127.0.0.1:7380
      key: firm.example+00000000+BPj3hK2OvMbcbzJeVAw3ip+KNUx23vC0zqXRqhMm1kvU
      tenants: [ten_aaaaaaaaaaaaaaaaaaaaaaaaaa]
      regions: [ca, service]
`
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, want := c.Audit.WitnessTimeout, 3*time.Second; got != want {
		t.Errorf("witness_timeout = %v, want %v", got, want)
	}
	if got := c.Audit.Witnesses; len(got) != 2 || got[1].Tenants[0] != "ten_aaaaaaaaaaaaaaaaaaaaaaaaaa" || got[1].Regions[1] != "service" {
		t.Errorf("witnesses = %+v", got)
	}

	env := map[string]string{
		"CASEVAULT_AUDIT_WITNESSES":       "witness.example https://witness.example " + witnessKey + " ; ",
		"CASEVAULT_AUDIT_WITNESS_TIMEOUT": "20s",
	}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	if got := c.Audit.Witnesses; len(got) != 1 || got[0].Key != witnessKey || got[0].URL != "https://witness.example" {
		t.Errorf("witnesses from the environment = %+v", got)
	}
	if got, want := c.Audit.WitnessTimeout, 20*time.Second; got != want {
		t.Errorf("witness timeout from the environment = %v, want %v", got, want)
	}
	env["CASEVAULT_AUDIT_WITNESSES"] = "witness.example https://witness.example"
	if err := c.LoadEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("LoadEnv accepted a witness without a key")
	}
}

func TestConfig_Validate_AuditWitnesses(t *testing.T) {
	ok := config.WitnessConfig{Name: "witness.example", URL: "https://witness.example", Key: witnessKey}
	for _, tc := range []struct {
		name string
		edit func(*config.WitnessConfig)
		want string
	}{
		{"NoKey", func(w *config.WitnessConfig) { w.Key = "" }, "required"},
		{"KeyOfAnother", func(w *config.WitnessConfig) { w.Name = "other.example" }, "must be named"},
		{"PlainHTTP", func(w *config.WitnessConfig) { w.URL = "http://witness.example" }, "use https"},
		{"NotURL", func(w *config.WitnessConfig) { w.URL = "witness.example" }, "not an http(s) URL"},
		{"UnknownRegion", func(w *config.WitnessConfig) { w.Regions = []string{"mars"} }, "not a configured region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			w := ok
			tc.edit(&w)
			c.Audit.Witnesses = []config.WitnessConfig{w}
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	c := config.Default()
	c.Audit.Witnesses = []config.WitnessConfig{ok, ok}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Validate() with a witness twice = %v", err)
	}
}
