# syntax=docker/dockerfile:1
# Build a static CaseVault binary, then ship it alone on a distroless base
# as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.Version=${VERSION}" -o /out/casevault ./cmd/casevault \
 && mkdir -p /out/data /out/keys

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/casevault /usr/local/bin/casevault
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/keys /keys
USER 65532:65532
ENV CASEVAULT_DATA_DIR=/data CASEVAULT_KEYS_DIR=/keys
VOLUME ["/data", "/keys"]
EXPOSE 8443
# Listening beyond loopback needs TLS: mount a certificate and key and pass
# --tls-cert/--tls-key; or, to get certificates from Let's Encrypt, set
# CASEVAULT_ACME_DOMAINS, run the command "serve --addr 0.0.0.0:8443" and
# publish the host's port 443 to 8443; or set
# CASEVAULT_BEHIND_TLS_PROXY=true behind a TLS proxy. /data holds the
# metadata and audit databases and the local region stores; /keys holds the
# master keys and the keys they wrap: mount it from another volume, backed
# up apart from /data.
# Beyond loopback /metrics is not on 8443 but on 127.0.0.1:9090 inside the
# container; to scrape it from outside, set CASEVAULT_METRICS_ADDR=0.0.0.0:9090
# and CASEVAULT_METRICS_TOKEN (16+ characters) and publish port 9090.
ENTRYPOINT ["/usr/local/bin/casevault"]
CMD ["serve", "--addr", "0.0.0.0:8443", "--tls-cert", "/run/secrets/tls.crt", "--tls-key", "/run/secrets/tls.key"]
