package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of /.well-known/security.txt (RFC 9116) when the file sets
// nothing: CaseVault's own security advisories and SECURITY.md, English,
// and an Expires DefaultSecurityTxtExpiry after the time of the request.
const (
	DefaultSecurityContact  = "https://github.com/casevault/casevault/security/advisories/new"
	DefaultSecurityPolicy   = "https://github.com/casevault/casevault/blob/main/SECURITY.md"
	DefaultSecurityLanguage = "en"
	// DefaultSecurityTxtExpiry is how far ahead the default Expires lies.
	DefaultSecurityTxtExpiry = 180 * 24 * time.Hour
	// MaxSecurityTxtExpiry is how far ahead a configured Expires may lie
	// (RFC 9116 §2.5.5 recommends less than a year).
	MaxSecurityTxtExpiry = 365 * 24 * time.Hour
)

// SecurityTxtConfig is what GET /.well-known/security.txt serves
// (security_txt in the file). An operator who runs CaseVault for firms
// sets their own contact: the defaults point at the CaseVault project.
type SecurityTxtConfig struct {
	// Contact lists where to report, most preferred first: mailto:,
	// https: or tel: URIs (RFC 9116 §2.5.3). Default DefaultSecurityContact.
	Contact []string `yaml:"contact,omitempty"`
	// Expires is when the file stops being valid (RFC 3339). A configured
	// time must lie in the future and at most a year ahead, or serve
	// refuses to start (CheckSecurityTxtExpiry). Zero: DefaultSecurityTxtExpiry after each
	// request.
	Expires time.Time `yaml:"expires,omitempty"`
	// Policy is the URL of the disclosure policy; default
	// DefaultSecurityPolicy when Contact is the default too, else none.
	Policy string `yaml:"policy,omitempty"`
	// PreferredLanguages are language tags (RFC 5646); default "en".
	PreferredLanguages []string `yaml:"preferred_languages,omitempty"`
	// Canonical is the https URL the file is served at, when set.
	Canonical string `yaml:"canonical,omitempty"`
}

// SecurityTxt returns the security.txt settings with the defaults filled.
func (c *Config) SecurityTxt() SecurityTxtConfig {
	s := c.Security
	if len(s.Contact) == 0 {
		s.Contact = []string{DefaultSecurityContact}
		if s.Policy == "" {
			s.Policy = DefaultSecurityPolicy
		}
	}
	if len(s.PreferredLanguages) == 0 {
		s.PreferredLanguages = []string{DefaultSecurityLanguage}
	}
	return s
}

func (c *Config) loadSecurityFile(fc *Config) {
	if fc.Security.Contact != nil {
		c.Security.Contact = fc.Security.Contact
	}
	if !fc.Security.Expires.IsZero() {
		c.Security.Expires = fc.Security.Expires
	}
	if fc.Security.Policy != "" {
		c.Security.Policy = fc.Security.Policy
	}
	if fc.Security.PreferredLanguages != nil {
		c.Security.PreferredLanguages = fc.Security.PreferredLanguages
	}
	if fc.Security.Canonical != "" {
		c.Security.Canonical = fc.Security.Canonical
	}
}

// CheckSecurityTxtExpiry refuses a configured security_txt.expires that
// has passed at now or lies more than a year ahead. `serve` calls it
// before it starts; other commands do not, so that a stale date never
// blocks a restore or a move.
func (c *Config) CheckSecurityTxtExpiry(now time.Time) error {
	if e := c.Security.Expires; !e.IsZero() {
		switch {
		case !e.After(now):
			return fmt.Errorf("config: security_txt.expires: %s has passed; set a date within the next year", e.UTC().Format(time.RFC3339))
		case e.After(now.Add(MaxSecurityTxtExpiry)):
			return fmt.Errorf("config: security_txt.expires: %s is more than a year ahead (RFC 9116 §2.5.5); set a nearer date", e.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// validateSecurity checks security_txt: contacts are mailto:, https: or
// tel: URIs and URLs are https.
func (c *Config) validateSecurity() error {
	s := c.Security
	for _, ct := range s.Contact {
		u, err := url.Parse(ct)
		switch {
		case err != nil || ct != strings.TrimSpace(ct) || strings.ContainsAny(ct, "\r\n"):
			return fmt.Errorf("config: security_txt.contact: %q is not a URI", ct)
		case u.Scheme == "mailto" || u.Scheme == "tel":
		case u.Scheme == "https" && u.Host != "":
		default:
			return fmt.Errorf("config: security_txt.contact: %q must be a mailto:, https:// or tel: URI", ct)
		}
	}
	for _, f := range []struct{ name, v string }{{"policy", s.Policy}, {"canonical", s.Canonical}} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsAny(f.v, "\r\n") {
			return fmt.Errorf("config: security_txt.%s: %q must be an https:// URL", f.name, f.v)
		}
	}
	for _, l := range s.PreferredLanguages {
		if l == "" || strings.ContainsAny(l, ", \r\n") {
			return fmt.Errorf("config: security_txt.preferred_languages: %q is not a language tag", l)
		}
	}
	if len(s.Contact) == 0 && (s.Policy != "" || s.Canonical != "") {
		return errors.New("config: security_txt: give a contact when you set policy or canonical")
	}
	return nil
}

// RegionCountries maps each region to its country (regions.NAME.country),
// for the HIPAA add-on; regions without one are left out.
func (c *Config) RegionCountries() map[string]string {
	out := map[string]string{}
	for name, r := range c.Regions {
		if r.Country != "" {
			out[name] = r.Country
		}
	}
	return out
}
