package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/config"
)

// TestConfig_Operator checks the operator section: on by default on
// loopback, "off" or an empty addr in the file turns it off, the
// environment overrides the file, and Validate refuses an address beyond
// loopback without TLS or one on addr's port.
func TestConfig_Operator(t *testing.T) {
	c := config.Default()
	c.DataDir = "/srv/casevault"
	if got, want := c.OperatorListenAddr(), config.DefaultOperatorAddr; got != want {
		t.Errorf("default OperatorListenAddr() = %q, want %q", got, want)
	}
	if got, want := c.OperatorTokenPath(), filepath.Join("/srv/casevault", "operator-token"); got != want {
		t.Errorf("default OperatorTokenPath() = %q, want %q", got, want)
	}

	for _, tt := range []struct {
		name, yaml, env, addr, token string
	}{
		{"Off", "operator: {addr: \"off\"}\n", "", "", ""},
		{"EmptyIsOff", "operator: {addr: \"\"}\n", "", "", ""},
		{"TokenFileOnly", "operator: {token_file: /etc/cv/op}\n", "", config.DefaultOperatorAddr, "/etc/cv/op"},
		{"Port", "operator: {addr: \"127.0.0.1:7000\"}\n", "", "127.0.0.1:7000", ""},
		{"EnvOverFile", "operator: {addr: \"off\"}\n", "127.0.0.1:0", "127.0.0.1:0", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c := config.Default()
			if err := c.LoadFile(p); err != nil {
				t.Fatal(err)
			}
			if err := c.LoadEnv(func(k string) string {
				if k == "CASEVAULT_OPERATOR_ADDR" {
					return tt.env
				}
				return ""
			}); err != nil {
				t.Fatal(err)
			}
			if got := c.OperatorListenAddr(); got != tt.addr {
				t.Errorf("OperatorListenAddr() = %q, want %q", got, tt.addr)
			}
			if tt.token != "" && c.OperatorTokenPath() != tt.token {
				t.Errorf("OperatorTokenPath() = %q, want %q", c.OperatorTokenPath(), tt.token)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}

	for _, tt := range []struct {
		name string
		mod  func(*config.Config)
		want string
	}{
		{"NotHostPort", func(c *config.Config) { c.Operator.Addr = "9091" }, "operator.addr: \"9091\" is not host:port"},
		{"BadPort", func(c *config.Config) { c.Operator.Addr = "127.0.0.1:op" }, "operator.addr: port"},
		{"SharesAddr", func(c *config.Config) { c.Operator.Addr = c.Addr }, "would share addr's port"},
		{"PublicWithoutTLS", func(c *config.Config) { c.Operator.Addr = "0.0.0.0:9091" }, "not a loopback address"},
		{"PublicBehindProxy", func(c *config.Config) { c.Operator.Addr = "0.0.0.0:9091"; c.BehindTLSProxy = true }, "not a loopback address"},
		{"PublicWithTLS", func(c *config.Config) {
			c.Operator.Addr = "0.0.0.0:9091"
			c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem"
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if !c.OperatorTLS() {
					t.Errorf("OperatorTLS() = false, want true beyond loopback with tls")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
