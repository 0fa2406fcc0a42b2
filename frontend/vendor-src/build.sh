#!/usr/bin/env bash
# Rebuild the vendored browser bundle from the pinned packages (package-lock.json): needs Node and npm.
#   frontend/vendor-src/build.sh
# The output is committed, so running the platform needs neither Node nor a CDN.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
out=../static/frontend/vendor/hpke.js
{
  printf '/*! @hpke/core %s and @hpke/common %s (MIT, Ajitomi Daisuke, https://github.com/dajiaji/hpke-js),\n' \
    "$(node -p 'require("@hpke/core/package.json").version')" "$(node -p 'require("@hpke/common/package.json").version')"
  printf ' * bundled by frontend/vendor-src/build.sh with esbuild; exposes window.SunlightHPKE. */\n'
  node_modules/.bin/esbuild hpke-entry.js --bundle --format=iife --global-name=SunlightHPKE --target=es2020 --legal-comments=none
} > "$out"
cp node_modules/@hpke/core/LICENSE ../static/frontend/vendor/hpke.LICENSE.md
echo "wrote $out ($(wc -c < "$out") bytes)"
# axe-core, for the accessibility check of the crawl test only (tests/browser/test_crawl.py); never served.
mkdir -p ../../tests/browser/vendor
cp node_modules/axe-core/axe.min.js ../../tests/browser/vendor/axe.min.js
cp node_modules/axe-core/LICENSE ../../tests/browser/vendor/axe.LICENSE.txt
echo "copied axe-core $(node -p 'require("axe-core/package.json").version') to tests/browser/vendor/"
