package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"strconv"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors, in a registry of its own
// so that two Servers in one process (tests) never collide. Labels are route
// templates, never raw paths, so their number stays bounded.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	errors   *prometheus.CounterVec
	aborted  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casevault_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "casevault_http_request_duration_seconds",
			Help:    "Time from request to the last byte of the response, by route template and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"route", "method"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casevault_http_request_bytes_total",
			Help: "Request body bytes read, by route template.",
		}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casevault_http_response_bytes_total",
			Help: "Response body bytes written, by route template.",
		}, []string{"route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casevault_http_errors_total",
			Help: "Error responses, by error code.",
		}, []string{"code"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casevault_http_aborted_total",
			Help: "Responses cut off after their first byte (failed streams, panics), by route template.",
		}, []string{"route"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.bytesIn, m.bytesOut, m.errors, m.aborted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records one finished (or aborted) request.
func (m *metrics) observe(route, method string, status int, in, out int64, d time.Duration, aborted bool) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
	m.bytesIn.WithLabelValues(route).Add(float64(in))
	m.bytesOut.WithLabelValues(route).Add(float64(out))
	if aborted {
		m.aborted.WithLabelValues(route).Inc()
	}
}

// auditStats reads the audit log's counters, or zeros when the log keeps
// none.
func (s *Server) auditStats() vault.AuditStats {
	if a, ok := s.Service.Audit.(interface{ Stats() vault.AuditStats }); ok {
		return a.Stats()
	}
	return vault.AuditStats{}
}

// registerAuditMetrics exposes the audit log's counters, read at scrape
// time.
func (s *Server) registerAuditMetrics() {
	for _, c := range []struct {
		name, help string
		value      func(vault.AuditStats) int64
	}{
		{"casevault_audit_events_total", "Audit events committed since the process started.", func(a vault.AuditStats) int64 { return a.Appended }},
		{"casevault_audit_failures_total", "Audit events refused because the log could not be written (each refused its action).", func(a vault.AuditStats) int64 { return a.Failed }},
		{"casevault_audit_commits_total", "Group commits of the audit log.", func(a vault.AuditStats) int64 { return a.Commits }},
	} {
		s.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(c.value(s.auditStats())) }))
	}
	s.metrics.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "casevault_audit_diverged_logs",
		Help: "Audit logs that do not extend the checkpoint they signed last (names in the server log): their firms' actions answer unavailable. Alert on any.",
	}, func() float64 { return float64(s.auditStats().Diverged) }))
	s.metrics.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "casevault_audit_sink_pending",
		Help: "Checkpoints signed and not yet delivered to the firms' checkpoint sinks (GET /api/v1/audit/sink says why). Alert when it keeps growing.",
	}, func() float64 {
		if s.SinkPending == nil {
			return 0
		}
		return float64(s.SinkPending())
	}))
}

// registerBudgetMetrics exposes the memory budgets of transfers, read at
// scrape time: each S3 region's upload memory (uploads waiting for it mean
// upload_memory_mib is too small for the load) and the downloads'
// read-ahead.
func (s *Server) registerBudgetMetrics() {
	gauge := func(name, help string, labels prometheus.Labels, f func() int64) {
		s.metrics.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(f()) }))
	}
	for _, region := range s.Service.RegionNames() {
		st, ok := s.Service.Regions[region].(interface{ UploadMemory() vault.MemoryBudget })
		if !ok {
			continue
		}
		l := prometheus.Labels{"region": region}
		gauge("casevault_upload_memory_limit_bytes", "Memory that the part buffers of all uploads to the region may take at once.", l,
			func() int64 { return st.UploadMemory().Limit })
		gauge("casevault_upload_memory_in_use_bytes", "Memory that the part buffers of uploads to the region take now.", l,
			func() int64 { return st.UploadMemory().InUse })
		gauge("casevault_uploads_waiting", "Uploads to the region waiting for upload memory now.", l,
			func() int64 { return st.UploadMemory().Waiting })
	}
	if k, ok := s.Service.Keys.(interface{ ReadAheadMemory() vault.MemoryBudget }); ok {
		gauge("casevault_readahead_memory_limit_bytes", "Memory that downloads may take to decrypt ahead of their clients.", nil,
			func() int64 { return k.ReadAheadMemory().Limit })
		gauge("casevault_readahead_memory_in_use_bytes", "Memory that downloads take now to decrypt ahead of their clients.", nil,
			func() int64 { return k.ReadAheadMemory().InUse })
		s.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "casevault_readahead_denied_total",
			Help: "Downloads that decrypted a part at a time because the read-ahead memory was taken.",
		}, func() float64 { return float64(k.ReadAheadMemory().Denied) }))
	}
}

// handleMetrics serves GET /metrics on the main listener: the Prometheus
// text format, or 404 when the metrics have a listener of their own
// (MetricsAddr), exactly as for a path that does not exist.
func (s *Server) handleMetrics() gin.HandlerFunc {
	serve := s.serveMetrics()
	return func(c *gin.Context) {
		if s.MetricsAddr != "" {
			s.handleNoRoute(c)
			return
		}
		serve(c)
	}
}

// serveMetrics answers GET /metrics in the Prometheus text format, to
// requests that carry MetricsToken when one is set (others answer 401).
func (s *Server) serveMetrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
	return func(c *gin.Context) {
		if !s.metricsAuthorized(c) {
			s.Error(c, vault.Errorf(vault.EUNAUTHORIZED, "Metrics need the metrics token: send an Authorization: Bearer token."))
			return
		}
		h.ServeHTTP(c.Writer, c.Request)
	}
}

// metricsAuthorized reports whether a request may read the metrics: no
// MetricsToken is set, or the request carries it as a bearer token. The
// comparison takes the same time whatever the token sent (both are hashed
// first, so not even its length shows).
func (s *Server) metricsAuthorized(c *gin.Context) bool {
	if s.MetricsToken == "" {
		return true
	}
	scheme, secret, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	got, want := sha256.Sum256([]byte(strings.TrimSpace(secret))), sha256.Sum256([]byte(s.MetricsToken))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	return ok && strings.EqualFold(scheme, "Bearer") && match
}

// listenMetrics opens the metrics listener when MetricsAddr is set, with
// tlsConfig when MetricsTLS asks for it, and serves /metrics there (and a
// JSON 404 for anything else). Close shuts it down with the main listener.
func (s *Server) listenMetrics(tlsConfig *tls.Config) error {
	if s.MetricsAddr == "" {
		return nil
	}
	l, err := s.openSide("metrics", s.MetricsAddr, s.MetricsTLS, tlsConfig, s.TrustedProxies, func(r *gin.Engine) {
		r.GET("/metrics", s.serveMetrics())
	})
	if err != nil {
		return err
	}
	s.metricsSide = l
	return nil
}

// MetricsURL returns the URL of GET /metrics (after Open): on the metrics
// listener when there is one, else on the main listener.
func (s *Server) MetricsURL() string {
	if s.metricsSide == nil {
		return s.URL() + "/metrics"
	}
	return s.metricsSide.url() + "/metrics"
}
