#!/usr/bin/env bash
# Installs what the project needs on a bare Debian 12 machine; idempotent and quiet when
# everything is there. Usage: scripts/bootstrap.sh [system] [venv]
set -euo pipefail
cd "$(dirname "$0")/.."

# nodejs and chromium build and test the web dashboard (web/); npm comes below.
APT_PACKAGES=(redis-server docker.io mmdebstrap iptables wrk nodejs chromium chromium-driver)
PYTHON=${PYTHON:-python3}
VENV=.venv

system() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # NodeSource's nodejs package bundles npm and conflicts with Debian's npm package: ask
  # for the package only when the command is missing.
  command -v npm >/dev/null || missing+=(npm)
  if ((${#missing[@]})); then
    echo "bootstrap: installing apt packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

venv() {
  local packages=(libs/common libs/ohlcv libs/quant tools/devstack services/*/ services/backtest-runner/sandbox)
  # The stamp records what the environment was built from; rebuild only when that changes.
  local want
  want=$(cat requirements-dev.txt "${packages[@]/%//pyproject.toml}" 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ -f "$VENV/.kwont-stamp" ] && [ "$(cat "$VENV/.kwont-stamp")" = "$want" ]; then
    return
  fi
  echo "bootstrap: preparing $VENV (editable install of every package)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1
  local editable=()
  for p in "${packages[@]}"; do
    # The pure-compute library brings its test peers (TA-Lib, backtesting.py) and bench
    # peers (vectorbt) as extras.
    [ "$p" = libs/quant ] && p="libs/quant[test,bench]"
    editable+=(-e "$p")
  done
  local log="$VENV/pip-install.log"
  if ! "$VENV/bin/python" -m pip install -r requirements-dev.txt "${editable[@]}" >"$log" 2>&1; then
    tail -40 "$log"
    echo "bootstrap: pip install failed (full log: $log)" >&2
    exit 1
  fi
  echo "$want" > "$VENV/.kwont-stamp"
}

if [ $# -eq 0 ]; then set -- system venv; fi
for step in "$@"; do "$step"; done
