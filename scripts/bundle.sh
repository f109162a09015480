#!/usr/bin/env bash
# Packs the built pofbench (dist/src, bin, scenarios, runtime node_modules) into a deterministic
# tar.gz: the same build gives the same bytes, so the Ansible pofbench role only re-installs when
# the code changed. Usage: scripts/bundle.sh OUT.tar.gz
set -euo pipefail
out=${1:?usage: scripts/bundle.sh OUT.tar.gz}
cd "$(dirname "$0")/.."
[ -f dist/src/cli/main.js ] || { echo "bundle: dist/ is missing: run npm run build first" >&2; exit 2; }
# the agents' native SHA-256 (Node-API: one build runs on any Node >= 18 of the same OS and CPU family)
[ -f build/Release/pofhot.node ] || { echo "bundle: build/Release/pofhot.node is missing: run npm run build first" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
tar --sort=name --mtime='2020-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner --mode=go-w \
  --exclude=node_modules/typescript --exclude=node_modules/playwright-core --exclude='node_modules/@types' \
  --exclude=node_modules/.cache --exclude='*.tsbuildinfo' \
  -cf - package.json package-lock.json bin dist/src build/Release/pofhot.node node_modules scenarios | gzip -n -1 > "$tmp"
mv "$tmp" "$out"
