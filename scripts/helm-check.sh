#!/usr/bin/env bash
# `make helm-check`: the chart lints, renders with default values and with everything on
# (deploy/helm/kwont/ci/all-on-values.yaml), and what it renders validates against the
# Kubernetes schemas, offline (kubernetes-validate; CRs structurally, see
# scripts/validate_manifests.py). No cluster is involved. Rendered files: .run/helm/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
HELM=.venv/bin/helm
CHART=deploy/helm/kwont
OUT=.run/helm
K8S_VERSION=${KWONT_K8S_VERSION:-1.35}
started=$(date +%s%N)

scripts/install-helm.sh
mkdir -p "$OUT"
"$HELM" lint --strict --quiet "$CHART" -f "$CHART/ci/all-on-values.yaml"
"$HELM" lint --strict --quiet "$CHART"
# The umbrella declares the optional engine charts; they are not vendored, so only its
# metadata is linted (helm warns about the missing dependencies, which is expected).
"$HELM" lint --quiet deploy/helm/kwont-stack >/dev/null
"$HELM" template kwont "$CHART" --namespace kwont > "$OUT/default.yaml"
"$HELM" template kwont "$CHART" --namespace kwont -f "$CHART/ci/all-on-values.yaml" > "$OUT/all-on.yaml"
for mode in hostSocket external; do
  "$HELM" template kwont "$CHART" --namespace kwont --set docker.mode=$mode \
    --set docker.host=unix:///var/run/engine/docker.sock > "$OUT/$mode.yaml"
done
"$PYTHON" scripts/validate_manifests.py -k "$K8S_VERSION" "$OUT"/*.yaml
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
echo "helm-check: passed in $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100))s"
