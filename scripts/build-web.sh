#!/usr/bin/env bash
# Build the web dashboard (web/) into web/dist, which the gateway serves at /.
# Idempotent: `npm ci` and `npm run build` run only when package-lock.json or a web source
# changed since the last build (the stamp records their hash). `make up` and `make test`
# call it; the browser test calls it too.
set -euo pipefail
cd "$(dirname "$0")/../web"

sources() {
  # Everything the build reads: the lockfile, the configuration and the sources.
  find package.json package-lock.json tsconfig.json vite.config.ts index.html src -type f -print0 \
    | sort -z | xargs -0 sha256sum
}

want=$(sources | sha256sum | cut -d' ' -f1)
if [ -f .build-stamp ] && [ "$(cat .build-stamp)" = "$want" ] && [ -f dist/index.html ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "build-web: npm is missing (make bootstrap installs it)" >&2; exit 1; }
# Vite 7 needs Node 20.19+ (Debian 12's own nodejs is 18: use NodeSource's 20).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || { echo "build-web: Node $(node --version) is too old; Vite needs 20.19 or newer" >&2; exit 1; }
echo "build-web: npm ci && npm run build"
lock_want=$(sha256sum package-lock.json | cut -d' ' -f1)
# node_modules is reinstalled only when the lockfile changed.
if [ ! -f node_modules/.lock-stamp ] || [ "$(cat node_modules/.lock-stamp)" != "$lock_want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_want" > node_modules/.lock-stamp
fi
npm run build --silent >/dev/null
echo "$want" > .build-stamp
