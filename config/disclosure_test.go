package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/config"
)

func TestConfig_SecurityTxt(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name string
		mod  func(*config.SecurityTxtConfig)
		want string
	}{
		{"Default", func(*config.SecurityTxtConfig) {}, ""},
		{"Configured", func(s *config.SecurityTxtConfig) {
			s.Contact = []string{"mailto:security@firm.example", "https://firm.example/report"}
			s.Expires = now.Add(90 * 24 * time.Hour)
			s.Policy = "https://firm.example/disclosure"
		}, ""},
		{"ExpiresPast", func(s *config.SecurityTxtConfig) { s.Expires = now.Add(-time.Hour) }, "security_txt.expires"},
		{"ExpiresTooFar", func(s *config.SecurityTxtConfig) { s.Expires = now.Add(400 * 24 * time.Hour) }, "more than a year"},
		{"ContactHTTP", func(s *config.SecurityTxtConfig) { s.Contact = []string{"http://firm.example/report"} }, "security_txt.contact"},
		{"ContactNewline", func(s *config.SecurityTxtConfig) { s.Contact = []string{"mailto:a@b.example\nPolicy: x"} }, "security_txt.contact"},
		{"PolicyHTTP", func(s *config.SecurityTxtConfig) {
			s.Contact = []string{"mailto:a@b.example"}
			s.Policy = "http://x.example"
		}, "security_txt.policy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mod(&c.Security)
			err := c.Validate()
			if err == nil {
				err = c.CheckSecurityTxtExpiry(now)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate, CheckSecurityTxtExpiry = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate, CheckSecurityTxtExpiry = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestConfig_SecurityTxtFileAndCountry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "casevault.yaml")
	exp := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	body := "security_txt:\n  contact: [\"mailto:sec@firm.example\"]\n  expires: " + exp.Format(time.RFC3339) +
		"\n  preferred_languages: [en, fr]\nregions:\n  us:\n    type: fs\n    country: US\n  eu:\n    type: fs\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	st := c.SecurityTxt()
	if len(st.Contact) != 1 || st.Contact[0] != "mailto:sec@firm.example" || !st.Expires.Equal(exp) || st.Policy != "" ||
		len(st.PreferredLanguages) != 2 {
		t.Errorf("SecurityTxt() = %+v", st)
	}
	if got := c.RegionCountries(); len(got) != 1 || got["us"] != "US" {
		t.Errorf("RegionCountries() = %v, want only us: US", got)
	}
	d := config.Default()
	if got := d.RegionCountries(); got["us"] != "US" || got["ca"] != "CA" {
		t.Errorf("default RegionCountries() = %v", got)
	}
	if st := d.SecurityTxt(); st.Contact[0] != config.DefaultSecurityContact || st.Policy != config.DefaultSecurityPolicy {
		t.Errorf("default SecurityTxt() = %+v", st)
	}
	d.Regions["us"] = config.RegionConfig{Type: "fs", Country: "usa"}
	checkValidate(t, &d, "regions.us.country")
}
