# CaseVault build and test.
#   make run    start the vault on the embedded defaults
#   make test   install what the tests need (MinIO, litewitness, …), then vet, staticcheck and go test -race
#   make bench  the benchmarks (1 GiB round trips, MinIO throughput ratios, the UI's matter page and browser upload)

GO ?= go
# Test servers and linters are built from the Go module proxy into a cache
# outside the repository, once.
TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/casevault/bin
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
VERSITYGW_VERSION ?= v1.8.0
STATICCHECK_VERSION ?= v0.8.2
PEBBLE_VERSION ?= v2.10.1
TORCHWOOD_VERSION ?= v0.6.1
MAILPIT_VERSION ?= v1.33.1
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

export CASEVAULT_TOOLS := $(TOOLS)

.PHONY: run build test tools debs vet staticcheck gotest bench clean

run:
	$(GO) run ./cmd/casevault serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.Version=$(VERSION)" -o bin/casevault ./cmd/casevault

tools: $(TOOLS)/minio $(TOOLS)/versitygw $(TOOLS)/staticcheck $(TOOLS)/pebble $(TOOLS)/litewitness $(TOOLS)/witnessctl $(TOOLS)/mailpit $(TOOLS)/dex debs

# Debian packages the tests use: pdftotext reads the audit PDF reports;
# chromium runs the web UI's browser tests (internal/browser), which fail
# when it is missing and CI is set.
debs:
	@command -v chromium >/dev/null || { \
		echo "installing chromium for the web UI's browser tests"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@command -v pdftotext >/dev/null || { \
		echo "installing poppler-utils (pdftotext) from Debian packages"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }
	@command -v ssh-agent >/dev/null && command -v ssh-keygen >/dev/null && command -v ssh-add >/dev/null || { \
		echo "installing openssh-client (ssh-agent, ssh-keygen, ssh-add) for the witness tests"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq openssh-client >/dev/null; }

$(TOOLS)/minio:
	@mkdir -p $(TOOLS)
	@echo "building MinIO $(MINIO_VERSION) (a few minutes, once)"
	GOBIN=$(TOOLS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

# Dex, the OpenID Connect provider of the single sign-on tests
# (internal/oidctest). Its module has a replace line, so go install refuses
# it: it is built from its own small tools module, internal/tools/dex (a
# nested go.mod, so the root module's vet, test and staticcheck skip it).
$(TOOLS)/dex:
	@mkdir -p $(TOOLS)
	@echo "building Dex (about 90 s, once)"
	cd internal/tools/dex && $(GO) build -o $(TOOLS)/dex github.com/dexidp/dex/cmd/dex

$(TOOLS)/versitygw:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

# Pebble, Let's Encrypt's test ACME server, for the ACME certificate test.
$(TOOLS)/pebble:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/letsencrypt/pebble/v2/cmd/pebble@$(PEBBLE_VERSION)

# litewitness, a C2SP tlog-witness, and witnessctl, which registers logs
# with it, for the witness tests (internal/witnesstest).
$(TOOLS)/litewitness:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install filippo.io/torchwood/cmd/litewitness@$(TORCHWOOD_VERSION)

$(TOOLS)/witnessctl:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install filippo.io/torchwood/cmd/witnessctl@$(TORCHWOOD_VERSION)

# mailpit, an SMTP server with an HTTP API, for the notification tests
# (internal/mailtest).
$(TOOLS)/mailpit:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

$(TOOLS)/staticcheck:
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet:
	$(GO) vet ./...

staticcheck: $(TOOLS)/staticcheck
	$(TOOLS)/staticcheck ./...

gotest:
	$(GO) test -race -timeout 45m ./...

test: tools vet staticcheck gotest

bench: tools
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

clean:
	rm -rf bin
