#!/bin/sh
# Entry point of every Kwont service image.
#   (no arguments)          runs the image's service: $SERVICE_COMMAND (kwont-<service>)
#   <args not kwont-*>      passed to it, e.g. `create-admin` for kwont-gateway
#   kwont-* | python | sh   runs that command instead, e.g. `kwont-topics create`
# KWONT_METRICS_PORT=auto picks a free port: replicas sharing one network namespace (the
# backtest-runner on the host network, scaled) must not fight over a fixed port. The port
# in use is written to /tmp/kwont/metrics-port, where probe.py (the health check) reads it.
set -eu
if [ "${KWONT_METRICS_PORT:-}" = auto ]; then
  KWONT_METRICS_PORT=$(python -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export KWONT_METRICS_PORT
fi
mkdir -p /tmp/kwont 2>/dev/null && echo "${KWONT_METRICS_PORT:-9100}" > /tmp/kwont/metrics-port 2>/dev/null || true
# Runner replicas on the host network share its hostname (and often PID 1): the default
# runner id (hostname-pid) would collide, so give each process a random suffix.
if [ "$SERVICE_COMMAND" = kwont-backtest-runner ] && [ -z "${KWONT_RUNNER_ID:-}" ]; then
  KWONT_RUNNER_ID="$(hostname)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  export KWONT_RUNNER_ID
fi
case "${1:-}" in
  kwont-*|python|python3|sh) exec "$@" ;;
esac
exec "$SERVICE_COMMAND" "$@"
