package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultMetricsAddr is where GET /metrics is served when addr is not a
// loopback address and metrics.addr is not set: a loopback listener of its
// own, so that the metrics are never open to the world by default.
const DefaultMetricsAddr = "127.0.0.1:9090"

// MinMetricsTokenLen is the shortest metrics.token accepted.
const MinMetricsTokenLen = 16

// MetricsConfig says where GET /metrics is served and what it requires.
type MetricsConfig struct {
	// Addr, host:port, gives /metrics a listener of its own; the main
	// listener then answers 404 there. Empty: /metrics is on the main
	// listener while addr is a loopback address, else on
	// DefaultMetricsAddr. The metrics listener speaks plain HTTP on a
	// loopback address and the main listener's TLS on any other.
	Addr string `yaml:"addr"`
	// Token, when set, is a bearer token that every /metrics request must
	// carry (Authorization: Bearer TOKEN); others answer 401. Required when
	// Addr is not a loopback address. Keep it out of the file with
	// CASEVAULT_METRICS_TOKEN.
	Token string `yaml:"token"`
}

// MetricsListenAddr returns the address of /metrics' own listener, or ""
// when /metrics is served on the main listener: addr is a loopback address
// and metrics.addr is not set.
func (c *Config) MetricsListenAddr() string {
	if c.Metrics.Addr != "" {
		return c.Metrics.Addr
	}
	if host, _, err := net.SplitHostPort(c.Addr); err == nil && IsLoopback(host) {
		return ""
	}
	return DefaultMetricsAddr
}

// MetricsTLS reports whether /metrics' own listener speaks TLS: when it is
// not on loopback and the server has TLS.
func (c *Config) MetricsTLS() bool {
	addr := c.MetricsListenAddr()
	if addr == "" || !c.TLS.Enabled() {
		return false
	}
	host, _, err := net.SplitHostPort(addr)
	return err == nil && !IsLoopback(host)
}

// validateMetrics reports the first problem with c.Metrics, naming the
// field; it never shows the token.
func (c *Config) validateMetrics() error {
	m := c.Metrics
	if t := m.Token; t != "" {
		if len(t) < MinMetricsTokenLen {
			return fmt.Errorf("config: metrics.token: must be at least %d characters (it is %d)", MinMetricsTokenLen, len(t))
		}
		for i := 0; i < len(t); i++ {
			if t[i] <= ' ' || t[i] > '~' {
				return errors.New("config: metrics.token: must be printable ASCII without spaces (it goes in an Authorization header)")
			}
		}
	}
	addr := c.MetricsListenAddr()
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("config: metrics.addr: %q is not host:port", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("config: metrics.addr: port %q is not a number from 0 to 65535", port)
	}
	if mainHost, mainPort, err := net.SplitHostPort(c.Addr); err == nil && port == mainPort && port != "0" &&
		(host == mainHost || unspecified(host) || unspecified(mainHost)) {
		return fmt.Errorf("config: metrics.addr: %q would share addr's port %s; give /metrics a port of its own", addr, port)
	}
	if IsLoopback(host) {
		return nil
	}
	if !c.TLS.Enabled() && !c.BehindTLSProxy {
		return fmt.Errorf("config: metrics.addr: %q is not a loopback address; configure tls, or set behind_tls_proxy when a TLS proxy stands in front", addr)
	}
	if m.Token == "" {
		return fmt.Errorf("config: metrics.token: required when metrics.addr (%q) is not a loopback address", addr)
	}
	return nil
}

// unspecified reports whether host means every interface: empty, 0.0.0.0
// or ::.
func unspecified(host string) bool {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return host == "" || (err == nil && ip.IsUnspecified())
}
