// Package dex pins the Dex OpenID Connect provider that the single sign-on
// tests start on loopback (internal/oidctest). It is its own module so the
// root module's go vet, go test and staticcheck never build Dex.
package dex
