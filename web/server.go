// Package web is CaseVault's HTTP server: the gin router, middleware,
// handlers, one error-to-status table and the embedded UI.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// Server serves the CaseVault API over HTTP or HTTPS.
type Server struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// TLSCertFile and TLSKeyFile enable HTTPS when both are set.
	TLSCertFile, TLSKeyFile string
	// Service is the vault the handlers call.
	Service *vault.Service
	// Log receives request logs.
	Log zerolog.Logger

	ln     net.Listener
	https  bool
	server *http.Server
	router *gin.Engine
}

// NewServer returns a Server with its routes registered.
func NewServer(svc *vault.Service, log zerolog.Logger) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{Service: svc, Log: log.With().Str("component", "http").Logger(), router: gin.New()}
	s.router.Use(gin.Recovery())
	s.router.GET("/healthz", s.handleHealthz)
	s.server = &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return s
}

// Open starts listening and serving in the background.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	if s.TLSCertFile != "" && s.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			ln.Close()
			return err
		}
		s.server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.ln = tls.NewListener(ln, s.server.TLSConfig)
		s.https = true
	}
	go func() {
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

// Close shuts the server down gracefully, waiting for in-flight requests up
// to ctx's deadline.
func (s *Server) Close(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	return s.server.Shutdown(ctx)
}

func (s *Server) handleHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
