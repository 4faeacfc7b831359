package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Default backup retention tiers (README, "Backups and restore").
const (
	DefaultRetentionAll     = 48 * time.Hour
	DefaultRetentionDaily   = 35 * 24 * time.Hour
	DefaultRetentionMonthly = 365 * 24 * time.Hour
)

// BackupRetention is how long a region's backups are kept, in tiers:
// every snapshot and every file after it (so a restore to any time) for
// All; the newest snapshot of each UTC day for Daily; that of each UTC
// month for Monthly. A tier of zero keeps nothing beyond the others.
//
// In YAML it is either a mapping {all: 48h, daily: 35d, monthly: 365d}
// (a tier left out takes its default; 0 turns it off) or a single
// duration, which keeps everything that long and nothing more (the form
// of earlier versions). Durations take Go's units and d for days.
type BackupRetention struct {
	All     time.Duration `yaml:"all,omitempty"`
	Daily   time.Duration `yaml:"daily,omitempty"`
	Monthly time.Duration `yaml:"monthly,omitempty"`
	// set is true once the YAML gave the retention in any form.
	set bool
}

// UnmarshalYAML reads a duration or a mapping of tiers.
func (r *BackupRetention) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d, err := ParseDays(n.Value)
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		*r = BackupRetention{All: d, set: true}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("retention: give a duration or a mapping of all, daily and monthly")
	}
	out := BackupRetention{All: DefaultRetentionAll, Daily: DefaultRetentionDaily, Monthly: DefaultRetentionMonthly, set: true}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1].Value
		d, err := ParseDays(v)
		if err != nil {
			return fmt.Errorf("retention.%s: %w", k, err)
		}
		switch k {
		case "all":
			out.All = d
		case "daily":
			out.Daily = d
		case "monthly":
			out.Monthly = d
		default:
			return fmt.Errorf("retention: unknown tier %q (all, daily, monthly)", k)
		}
	}
	*r = out
	return nil
}

// MarshalYAML writes the mapping form.
func (r BackupRetention) MarshalYAML() (any, error) {
	return map[string]string{"all": r.All.String(), "daily": r.Daily.String(), "monthly": r.Monthly.String()}, nil
}

// Longest is the longest of the tiers: nothing is kept longer.
func (r BackupRetention) Longest() time.Duration { return max(r.All, r.Daily, r.Monthly) }

// ParseDays parses a duration as time.ParseDuration does, and also whole
// or fractional days ("35d", "1.5d"); "0" is zero.
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(days, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(f * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 48h, 35d)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// BackupRetentionOf returns region name's retention tiers, or the
// defaults (48h, 35d, 365d) when the configuration gives none.
func (c *Config) BackupRetentionOf(name string) BackupRetention {
	r := c.Regions[name].Backup.Retention
	if !r.set && r == (BackupRetention{}) {
		return BackupRetention{All: DefaultRetentionAll, Daily: DefaultRetentionDaily, Monthly: DefaultRetentionMonthly}
	}
	return r
}

// validateRetention checks region a's retention tiers.
func (c *Config) validateRetention(a string) error {
	field := "regions." + a + ".backup.retention"
	r := c.BackupRetentionOf(a)
	switch {
	case r.All < time.Minute:
		return fmt.Errorf("config: %s.all: %s is shorter than a minute: a restore to any recent time needs it", field, r.All)
	case r.Longest() < c.BackupSnapshotInterval(a):
		return fmt.Errorf("config: %s: %s is shorter than the snapshot interval %s", field, r.Longest(), c.BackupSnapshotInterval(a))
	}
	return nil
}
