// Package web is CaseVault's HTTP server: the gin router, middleware,
// handlers, one error-to-status table and the embedded OpenAPI document.
// It is the only package that imports gin.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/casevault/casevault/sso"
	"github.com/casevault/casevault/vault"
)

// ReadyTimeout bounds each dependency check of /readyz.
const ReadyTimeout = 5 * time.Second

// Server serves the CaseVault API over HTTP or HTTPS.
type Server struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// TLSCertFile and TLSKeyFile enable HTTPS when both are set.
	TLSCertFile, TLSKeyFile string
	// ACME, when set, enables HTTPS with certificates obtained from an
	// ACME CA instead of files.
	ACME *ACME
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For is believed when taking a client's address (for login
	// rate limits and logs). Empty means none: the peer address is used.
	TrustedProxies []string
	// Service is the vault the handlers call.
	Service *vault.Service
	// Log receives request logs.
	Log zerolog.Logger

	// UserRate and UserBurst limit each signed-in user's requests (per
	// second, and at once); set before Open. Zero means the defaults.
	UserRate  float64
	UserBurst int
	// UserUploads is how many uploads one user may have in progress at
	// once; set before Open. Zero means DefaultUserUploads.
	UserUploads int
	// UploadStallWindow and UploadMinBytes cut off an upload whose client
	// sends fewer than UploadMinBytes per UploadStallWindow spent waiting
	// for it. Zero means the defaults (60 s, 16 KiB).
	UploadStallWindow time.Duration
	UploadMinBytes    int64

	// MetricsAddr, when set before Open, serves GET /metrics on a listener
	// of its own at this address, and the main listener answers 404 there
	// (so that metrics need not be open wherever the API is). Empty:
	// /metrics is on the main listener.
	MetricsAddr string
	// MetricsTLS serves the metrics listener with the main listener's TLS
	// settings (when it has any); without it the metrics listener speaks
	// plain HTTP, as suits a loopback address.
	MetricsTLS bool
	// MetricsToken, when set, is a bearer token that every /metrics request
	// must carry (Authorization: Bearer TOKEN); others answer 401.
	MetricsToken string
	// Witnesses, when set, returns the counters of the audit log's
	// witnesses, for /metrics.
	Witnesses func() []vault.WitnessStats
	// BehindTLSProxy says a TLS-terminating proxy fronts the server: the
	// UI's cookies are then Secure although the server speaks plain HTTP.
	BehindTLSProxy bool
	// SessionIdle is how long a UI session may go unused before it
	// expires; zero means DefaultSessionIdle. Its absolute limit is
	// vault.Service.SessionTTL.
	SessionIdle time.Duration

	// SinkPending, when set before Open, reports the checkpoints signed and
	// not yet delivered to the firms' sinks, for /metrics.
	SinkPending func() int64

	// Durability, when set before Open, returns a region's backups, last
	// restore drill and mirror, for GET /api/v1/durability, the UI's
	// durability page, /metrics and /readyz (web/durability.go).
	Durability func(region string) vault.Durability

	// Operator, when its Addr is set before Open, serves the operator API
	// on a listener of its own (web/operator.go).
	Operator OperatorListener
	// SecurityTxt is what /.well-known/security.txt serves (RFC 9116);
	// nil: the path answers 404.
	SecurityTxt *SecurityTxt

	// PublicURL is the base URL people reach the server at (https://vault.example.com),
	// from which single sign-on's redirect URI, PublicURL + "/sso/callback",
	// is made; empty means URL() (right only for loopback tests).
	PublicURL string
	ssoFlow   *sso.Flow
	ssoOnce   sync.Once

	limiter *userLimiter
	ui      *ui
	cop     *http.CrossOriginProtection
	uploads *userSlots
	ln      net.Listener
	https   bool
	server  *http.Server
	router  *gin.Engine
	metrics *metrics
	served  chan struct{}
	once    sync.Once

	metricsSide *sideListener // the metrics listener, when MetricsAddr is set
}

// NewServer returns a Server with its routes registered. Set its fields,
// then call Open.
func NewServer(svc *vault.Service, log zerolog.Logger) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{
		Service: svc,
		Log:     log.With().Str("component", "http").Logger(),
		router:  gin.New(),
		metrics: newMetrics(),
		served:  make(chan struct{}),
		ui:      newUI(),
		cop:     http.NewCrossOriginProtection(),
	}
	r := s.router
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true // c.Done/c.Err follow the request's context
	r.SetTrustedProxies(nil)
	r.Use(s.observe, s.recoverer)
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(s.handleNoMethod)
	s.registerRoutes()

	s.server = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ConnContext:       withConn,
		// Uploads and downloads may take as long as their size needs, so
		// there is no overall read or write timeout.
	}
	s.registerAuditMetrics()
	s.registerBudgetMetrics()
	s.registerMirrorMetrics()
	s.metrics.registry.MustRegister(witnessCollector{s})
	s.metrics.registry.MustRegister(durabilityCollector{s})
	return s
}

// registerRoutes is the table of every endpoint. docs/API.md and
// openapi.json describe each one; a test checks the OpenAPI document
// against this table.
func (s *Server) registerRoutes() {
	r := s.router
	r.GET("/healthz", s.handleHealthz)
	r.GET("/readyz", s.handleReadyz)
	r.GET("/metrics", s.handleMetrics())
	r.GET("/.well-known/security.txt", s.handleSecurityTxt)

	api := r.Group("/api/v1")
	api.GET("/openapi.json", s.handleOpenAPI)
	api.POST("/setup", s.handleSetup)
	api.POST("/auth/login", s.handleLogin)

	auth := api.Group("", s.authenticate, s.limitUser)
	auth.POST("/auth/logout", s.handleLogout)
	auth.GET("/tokens", s.handleTokenList)
	auth.POST("/tokens", s.handleTokenCreate)
	auth.DELETE("/tokens/:id", s.handleTokenDelete)

	auth.GET("/me", s.handleMe)
	auth.POST("/me/password", s.handlePasswordChange)
	auth.GET("/users", s.handleUserList)
	auth.POST("/users", s.handleUserCreate)
	auth.GET("/users/:id", s.handleUserGet)
	auth.PATCH("/users/:id", s.handleUserUpdate)
	auth.POST("/users/:id/password-reset", s.handlePasswordReset)

	auth.GET("/matters", s.handleMatterList)
	auth.POST("/matters", s.handleMatterCreate)
	auth.GET("/matters/:id", s.handleMatterGet)
	auth.PATCH("/matters/:id", s.handleMatterUpdate)
	auth.GET("/matters/:id/documents", s.handleDocumentList)
	auth.POST("/matters/:id/documents", s.limitUploads, s.guardUpload, s.handleDocumentCreate)
	auth.GET("/matters/:id/walls", s.handleWallList)
	auth.POST("/matters/:id/walls", s.handleWallCreate)
	auth.DELETE("/matters/:id/walls/:user_id", s.handleWallDelete)

	auth.GET("/documents/:id", s.handleDocumentGet)
	auth.PATCH("/documents/:id", s.handleDocumentUpdate)
	auth.DELETE("/documents/:id", s.handleDocumentTrash)
	auth.POST("/documents/:id/restore", s.handleDocumentRestore)
	auth.GET("/documents/:id/versions", s.handleVersionList)
	auth.GET("/documents/:id/access", s.handleDocumentAccess)
	auth.PUT("/documents/:id/content", s.limitUploads, s.guardUpload, s.handleVersionCreate)
	view, download := s.handleContent(vault.PermRead), s.handleContent(vault.PermDownload)
	auth.GET("/documents/:id/content", view)
	auth.HEAD("/documents/:id/content", view)
	auth.GET("/documents/:id/download", download)
	auth.HEAD("/documents/:id/download", download)

	auth.GET("/audit/events", s.handleAuditEvents)
	auth.GET("/audit/export", s.handleAuditExport)
	auth.GET("/audit/checkpoint", s.handleAuditCheckpoint)
	auth.GET("/audit/keys", s.handleAuditKeys)
	auth.GET("/residency", s.handleResidency)
	auth.GET("/durability", s.handleDurability)
	auth.GET("/audit/proof", s.handleAuditProof)
	auth.GET("/audit/consistency", s.handleAuditConsistency)
	auth.GET("/audit/sink", s.handleAuditSinkGet)
	auth.PUT("/audit/sink", s.handleAuditSinkPut)
	auth.DELETE("/audit/sink", s.handleAuditSinkDelete)
	auth.GET("/audit/documents/:id", s.handleAuditDocument)
	auth.GET("/audit/users/:id", s.handleAuditUser)
	s.registerShredRoutes(auth)

	auth.GET("/grants", s.handleGrantList)
	auth.POST("/grants", s.handleGrantCreate)
	auth.DELETE("/grants/:id", s.handleGrantRevoke)
	s.notifyRoutes(auth)
	s.alertRoutes(auth)
	s.complianceRoutes(auth)
	s.breachRoutes(auth)
	s.mfaRoutes(api, auth)
	s.ssoRoutes(auth)
	s.passkeyRoutes(api, auth)

	s.registerUIRoutes()
}

// registerUIRoutes is the table of the web UI's pages (docs/API.md, "Web
// UI"). Every page carries the UI's security headers; every POST passes
// http.CrossOriginProtection and the form's CSRF token.
func (s *Server) registerUIRoutes() {
	ui := s.router.Group("", uiHeaders, s.originGuard)
	ui.GET("/static/:hash/*file", s.handleStatic)

	pre := ui.Group("", s.preSession, s.checkCSRF)
	pre.GET("/setup", s.handleSetupShow)
	pre.POST("/setup", s.handleSetupPage)
	pre.GET("/signin", s.handleSignInShow)
	pre.POST("/signin", s.handleSignIn)
	s.ssoSignInPages(pre)

	in := ui.Group("", s.needsSetup, s.session, s.limitUser, s.checkCSRF)
	in.GET("/", s.handleHome)
	in.POST("/signout", s.handleSignOut)
	in.GET("/account/password", s.handlePasswordShow)
	in.POST("/account/password", s.handlePasswordChangePage)
	s.matterPages(in)
	s.documentPages(in)
	s.adminPages(in)
	s.auditPages(in)
	s.verifyPages(in)
	s.alertPages(in)
	in.GET("/durability", s.handleDurabilityPage)
	s.notificationPages(in)
	s.securityPages(in)
	s.mfaPages(pre, in)
	s.passkeyPages(pre, in)
	s.ssoPages(in)
}

// Route is one registered endpoint: a method and a path template in gin's
// syntax (/api/v1/documents/:id).
type Route struct {
	Method string
	Path   string
}

// Routes returns every registered endpoint, sorted by path then method.
func (s *Server) Routes() []Route {
	var routes []Route
	for _, r := range s.router.Routes() {
		routes = append(routes, Route{Method: r.Method, Path: r.Path})
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	return routes
}

// UseTLS reports whether the server serves HTTPS (set by Open).
func (s *Server) UseTLS() bool { return s.https }

// Open applies the settings, starts listening and serves in the
// background. Listen errors (a port in use, a bad certificate) are
// returned here, synchronously.
func (s *Server) Open() error {
	if err := s.router.SetTrustedProxies(s.TrustedProxies); err != nil {
		return err
	}
	rps, burst := s.UserRate, s.UserBurst
	if rps <= 0 {
		rps = DefaultUserRate
	}
	if burst <= 0 {
		burst = DefaultUserBurst
	}
	s.limiter = newUserLimiter(rps, burst)
	if s.UserUploads <= 0 {
		s.UserUploads = DefaultUserUploads
	}
	if s.UploadStallWindow <= 0 {
		s.UploadStallWindow = DefaultUploadStallWindow
	}
	if s.UploadMinBytes <= 0 {
		s.UploadMinBytes = DefaultUploadMinBytes
	}
	s.uploads = newUserSlots(s.UserUploads)
	var tlsConfig *tls.Config
	if s.ACME != nil {
		if s.TLSCertFile != "" || s.TLSKeyFile != "" {
			return errors.New("web: give either certificate files or ACME, not both")
		}
		c, err := s.ACME.tlsConfig()
		if err != nil {
			return err
		}
		tlsConfig = c
	} else if s.TLSCertFile != "" || s.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return err
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	if err := s.listenMetrics(tlsConfig); err != nil {
		ln.Close()
		return err
	}
	if err := s.listenOperator(tlsConfig); err != nil {
		ln.Close()
		if s.metricsSide != nil {
			s.metricsSide.server.Close()
		}
		return err
	}
	s.ln = ln
	if tlsConfig != nil {
		s.server.TLSConfig = tlsConfig
		s.ln = tls.NewListener(ln, tlsConfig)
		s.https = true
	}
	go func() {
		defer close(s.served)
		if err := s.server.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error().Err(err).Msg("http server stopped")
		}
	}()
	return nil
}

// URL returns the base URL the server listens on.
func (s *Server) URL() string {
	scheme := "http"
	if s.https {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// Close shuts the server and its metrics and operator listeners down gracefully: it
// stops accepting, lets in-flight requests finish until ctx is done, then
// closes the remaining connections (cancelling their uploads, which the
// vault cleans up).
func (s *Server) Close(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		shutdown := func(srv *http.Server, served chan struct{}) error {
			err := srv.Shutdown(ctx)
			if err != nil {
				err = errors.Join(err, srv.Close())
			}
			<-served
			return err
		}
		var wg sync.WaitGroup
		var metricsErr, operatorErr error
		wg.Go(func() { metricsErr = s.metricsSide.shutdown(ctx) })
		wg.Go(func() { operatorErr = s.closeOperator(ctx) })
		err = shutdown(s.server, s.served)
		wg.Wait()
		err = errors.Join(err, metricsErr, operatorErr)
	})
	return err
}

// handleHealthz answers GET /healthz: the process is alive.
func (s *Server) handleHealthz(c *gin.Context) {
	writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

// readyResponse is the body of /readyz: each check's outcome, "ok" or
// "unavailable", by name ("database", "region:us", "mirror:us", …).
type readyResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Error  *ErrorBody        `json:"error,omitempty"`
}

// handleReadyz answers GET /readyz: 200 when the database and every region
// store answer, else 503 naming what failed. A region's mirror shows as
// "mirror:NAME" and fails readiness only when uploads require it. Causes
// are logged, not sent.
func (s *Server) handleReadyz(c *gin.Context) {
	type check struct {
		name string
		ping func(context.Context) error
		// soft: a failure shows but leaves the server ready (a mirror
		// that uploads do not need).
		soft bool
	}
	checks := []check{{name: "database", ping: s.Service.Store.Ping}}
	// Nothing happens without the audit log: it is a dependency like the
	// database.
	if p, ok := s.Service.Audit.(interface{ Ping(context.Context) error }); ok {
		checks = append(checks, check{name: "audit", ping: p.Ping})
	}
	for _, name := range s.Service.RegionNames() {
		checks = append(checks, check{name: "region:" + name, ping: s.Service.Regions[name].Ping})
		// A region with a mirror: uploads cannot commit without it when
		// it is required.
		if m, ok := s.Service.Regions[name].(mirrorPinger); ok {
			checks = append(checks, check{name: "mirror:" + name, ping: m.PingMirror, soft: !m.MirrorStats().Required})
		}
	}
	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.Request.Context(), ReadyTimeout)
			defer cancel()
			results[i] = ch.ping(ctx)
		})
	}
	wg.Wait()

	resp := readyResponse{Status: "ok", Checks: map[string]string{}}
	s.backupChecks(resp.Checks) // shown, never failing readiness
	var failed []string
	for i, ch := range checks {
		if err := results[i]; err != nil {
			resp.Checks[ch.name] = "unavailable"
			if !ch.soft {
				failed = append(failed, ch.name)
			}
			s.Log.Warn().Err(err).Str("request_id", requestID(c)).Str("check", ch.name).Msg("readiness check failed")
			continue
		}
		resp.Checks[ch.name] = "ok"
	}
	if len(failed) == 0 {
		writeJSON(c, http.StatusOK, resp)
		return
	}
	resp.Status = "unavailable"
	resp.Error = &ErrorBody{Code: vault.EUNAVAILABLE, Message: "Not ready: " + joinNames(failed) + " unavailable."}
	s.metrics.errors.WithLabelValues(vault.EUNAVAILABLE).Inc()
	c.Set(ctxErrorCode, vault.EUNAVAILABLE)
	writeJSON(c, http.StatusServiceUnavailable, resp)
}

// mirrorPinger is a region store with a second site (vault/mirror).
type mirrorPinger interface {
	vault.MirrorReporter
	PingMirror(ctx context.Context) error
}

// joinNames joins names as "a, b and c".
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, n := range names[1 : len(names)-1] {
		out += ", " + n
	}
	return out + " and " + names[len(names)-1]
}
