package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casevault/casevault/vault"
)

// registerMirrorMetrics exposes, for each region whose store has a mirror
// (vault.MirrorReporter), the objects pending on one site (the mirror
// lag), the reads served from the other site, the objects repaired and the
// last scrub, read at scrape time.
func (s *Server) registerMirrorMetrics() {
	for _, region := range s.Service.RegionNames() {
		r, ok := s.Service.Regions[region].(vault.MirrorReporter)
		if !ok {
			continue
		}
		l := prometheus.Labels{"region": region}
		gauge := func(name, help string, f func(vault.MirrorStats) float64) {
			s.metrics.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: l},
				func() float64 { return f(r.MirrorStats()) }))
		}
		counter := func(name, help string, f func(vault.MirrorStats) float64) {
			s.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: l},
				func() float64 { return f(r.MirrorStats()) }))
		}
		gauge("casevault_mirror_pending_objects", "Objects known to be missing or damaged on one of the region's two sites and not yet re-copied (the mirror lag; scrub finishes them).",
			func(m vault.MirrorStats) float64 { return float64(m.Pending) })
		gauge("casevault_mirror_oldest_pending_timestamp_seconds", "When the oldest pending object was found, Unix seconds; 0 when none is pending.",
			func(m vault.MirrorStats) float64 { return unixOrZero(m.OldestPending.Unix(), m.OldestPending.IsZero()) })
		counter("casevault_mirror_fallbacks_total", "Reads served by the other site because one failed, lacked the object or held a part that failed authentication.",
			func(m vault.MirrorStats) float64 { return float64(m.Fallbacks) })
		counter("casevault_mirror_repaired_total", "Objects re-copied onto a site that lacked them or held a damaged copy.",
			func(m vault.MirrorStats) float64 { return float64(m.Repaired) })
		gauge("casevault_scrub_last_timestamp_seconds", "When the region's last scrub finished, Unix seconds; 0 before the first.",
			func(m vault.MirrorStats) float64 { return unixOrZero(m.LastScrub.Unix(), m.LastScrub.IsZero()) })
		gauge("casevault_scrub_last_findings", "What the region's last scrub found missing, damaged, lost or left over (0 when both sites agreed).",
			func(m vault.MirrorStats) float64 { return float64(m.LastScrubFindings) })
	}
}

func unixOrZero(sec int64, zero bool) float64 {
	if zero {
		return 0
	}
	return float64(sec)
}
