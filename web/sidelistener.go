package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// sideListener is a listener of its own beside the users' one: the
// metrics listener and the operator API's. Its engine has the server's
// observing and recovering middleware and answers JSON 404 and 405 as
// the main one does.
type sideListener struct {
	ln     net.Listener
	https  bool
	server *http.Server
	served chan struct{}
}

// openSide listens on addr, with tlsConfig when useTLS and tlsConfig is
// set, and serves the routes that routes adds, trusting proxies (nil:
// none). name names it in errors and the log.
func (s *Server) openSide(name, addr string, useTLS bool, tlsConfig *tls.Config, proxies []string, routes func(*gin.Engine)) (*sideListener, error) {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(proxies); err != nil {
		return nil, err
	}
	r.Use(s.observe, s.recoverer)
	r.NoRoute(s.handleNoRoute)
	r.NoMethod(s.handleNoMethod)
	routes(r)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l := &sideListener{ln: ln, served: make(chan struct{})}
	if useTLS && tlsConfig != nil {
		l.ln = tls.NewListener(ln, tlsConfig)
		l.https = true
	}
	l.server = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		defer close(l.served)
		if err := l.server.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error().Err(err).Msg(name + " server stopped")
		}
	}()
	return l, nil
}

// url returns the listener's base URL; "" for none.
func (l *sideListener) url() string {
	if l == nil {
		return ""
	}
	scheme := "http"
	if l.https {
		scheme = "https"
	}
	return scheme + "://" + l.ln.Addr().String()
}

// shutdown stops the listener as Server.Close does the main one (nil:
// nothing to do).
func (l *sideListener) shutdown(ctx context.Context) error {
	if l == nil {
		return nil
	}
	err := l.server.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, l.server.Close())
	}
	<-l.served
	return err
}
