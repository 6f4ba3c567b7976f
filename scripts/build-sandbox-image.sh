#!/usr/bin/env bash
# Builds the backtest sandbox image (kwont/sandbox:latest) with no image registry:
#   1. base image kwont/debian-base:bookworm: a Debian 12 rootfs from mmdebstrap (minbase +
#      python3 + python3-venv), `docker import`ed; built once, then reused;
#   2. wheels of kwont-quant, kwont-ohlcv, kwont-sandbox and their pinned dependencies
#      (the versions installed in .venv) prepared on the host, so the build is offline;
#   3. `docker build` of services/backtest-runner/sandbox/Dockerfile on that base.
# The image carries the label kwont.sandbox.inputs = hash of every input; when it matches,
# nothing is rebuilt (fast no-op). Work files live in .run/sandbox-image/ (gitignored).
#
# Usage: scripts/build-sandbox-image.sh [--check | --force | --print-hash]
#   --check       exit 0 if the image is up to date, 1 if missing or stale (builds nothing)
#   --force       rebuild the image even if up to date (the base image is kept)
#   --print-hash  print the inputs hash and exit
# Env: KWONT_SANDBOX_IMAGE, KWONT_SANDBOX_BASE_IMAGE, PYTHON (host python with the deps).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${KWONT_SANDBOX_IMAGE:-kwont/sandbox:latest}
BASE=${KWONT_SANDBOX_BASE_IMAGE:-kwont/debian-base:bookworm}
PYTHON=${PYTHON:-.venv/bin/python}
SANDBOX=services/backtest-runner/sandbox
WORK=.run/sandbox-image
LABEL=kwont.sandbox.inputs
DEPS=(numpy numba llvmlite pymongo dnspython)
MIRROR=http://deb.debian.org/debian
export DOCKER_BUILDKIT=0  # Debian's docker.io ships no buildx; the classic builder suffices

log() { echo "sandbox-image: $*" >&2; }

pins() {
  "$PYTHON" - "${DEPS[@]}" <<'PY'
import sys
from importlib.metadata import version
for name in sys.argv[1:]:
    print(f"{name}=={version(name)}")
PY
}

inputs_hash() {
  {
    pins
    echo "base=$BASE"
    sha256sum scripts/build-sandbox-image.sh
    find libs/quant libs/ohlcv "$SANDBOX" -type f \
      \( -name '*.py' -o -name 'pyproject.toml' -o -name 'py.typed' -o -name Dockerfile \) \
      -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/build/*' \
      | LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -c1-32
}

image_label() {
  docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

build_base() {
  if docker image inspect "$BASE" >/dev/null 2>&1; then return; fi
  command -v mmdebstrap >/dev/null || { log "mmdebstrap missing (apt-get install mmdebstrap)"; exit 1; }
  log "building base image $BASE with mmdebstrap (once)"
  local started=$SECONDS
  mkdir -p "$WORK"
  rm -f "$WORK/rootfs.tar"
  # Docs, man pages and locales are left out; mmdebstrap already drops the apt lists.
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/log/*' \
    bookworm "$WORK/rootfs.tar" \
    "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" </dev/null >&2
  docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
    "$WORK/rootfs.tar" "$BASE" >/dev/null
  rm -f "$WORK/rootfs.tar"
  log "base image built in $((SECONDS - started))s"
}

prepare_context() {
  local ctx=$WORK/context
  rm -rf "$ctx/wheels/kwont" "$ctx/Dockerfile"
  mkdir -p "$ctx/wheels/deps" "$ctx/wheels/kwont"
  cp "$SANDBOX/Dockerfile" "$ctx/Dockerfile"
  pins > "$ctx/wheels/deps/requirements.txt.new"
  if ! cmp -s "$ctx/wheels/deps/requirements.txt.new" "$ctx/wheels/deps/requirements.txt"; then
    rm -f "$ctx"/wheels/deps/*.whl
    # Binary wheels only, for this interpreter (cp311 manylinux, as Debian 12's python3).
    "$PYTHON" -m pip download -q --disable-pip-version-check --only-binary=:all: \
      -d "$ctx/wheels/deps" -r "$ctx/wheels/deps/requirements.txt.new" >&2
  fi
  mv "$ctx/wheels/deps/requirements.txt.new" "$ctx/wheels/deps/requirements.txt"
  "$PYTHON" -m pip wheel -q --disable-pip-version-check --no-deps -w "$ctx/wheels/kwont" \
    libs/quant libs/ohlcv "$SANDBOX" >&2
  echo "$ctx"
}

main() {
  local mode=${1:-}
  local want
  want=$(inputs_hash)
  case "$mode" in
    --print-hash) echo "$want"; return ;;
    --check) [ "$(image_label)" = "$want" ] && return 0 || return 1 ;;
    --force|"") ;;
    *) log "unknown option $mode"; exit 2 ;;
  esac
  if [ "$mode" != --force ] && [ "$(image_label)" = "$want" ]; then
    log "$IMAGE is up to date ($want)"
    return
  fi
  local started=$SECONDS
  build_base
  local ctx
  ctx=$(prepare_context)
  local old
  old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  log "building $IMAGE"
  docker build -q --build-arg "BASE_IMAGE=$BASE" --label "$LABEL=$want" -t "$IMAGE" "$ctx" >/dev/null
  # The replaced image (now untagged) goes; the build stage's cache layers stay.
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  docker images -q -f dangling=true -f label=kwont.sandbox.stage=build | tail -n +2 \
    | xargs -r docker rmi >/dev/null 2>&1 || true
  log "$IMAGE built in $((SECONDS - started))s ($want)"
}

main "$@"
