#!/bin/sh
# vendor-ui.sh refreshes the third-party CSS the web UI embeds
# (web/static/vendor/), from npm, at the pinned version, and rewrites
# web/static/vendor/SHA256SUMS, which a test (web TestStatic_Vendored)
# checks the files against. Run it from the repository root after changing
# PICO_VERSION, then review the diff and commit it.
set -eu
PICO_VERSION=${PICO_VERSION:-2.1.1}
dest=web/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@picocss/pico@$PICO_VERSION" >/dev/null && tar xzf "picocss-pico-$PICO_VERSION.tgz")
mkdir -p "$dest"
cp "$tmp/package/css/pico.min.css" "$dest/pico.min.css"
cp "$tmp/package/LICENSE.md" "$dest/pico.LICENSE.md"
echo "@picocss/pico@$PICO_VERSION" > "$dest/VERSIONS"
(cd "$dest" && sha256sum pico.min.css pico.LICENSE.md VERSIONS > SHA256SUMS)
cat "$dest/SHA256SUMS"
