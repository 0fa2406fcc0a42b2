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
