"""Validate rendered Kubernetes manifests offline (`make helm-check`).

Core kinds go through kubernetes-validate (the Kubernetes OpenAPI schemas it ships, strict:
unknown fields fail). Kinds it has no schema for (CRDs: the Prometheus Operator's
ServiceMonitor) are checked against a small structural schema here, the fields the chart
sets; any other unknown kind fails. Usage: validate_manifests.py [-k 1.35] FILE...
Exit 1 on the first invalid document, naming it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

# The parts of monitoring.coreos.com/v1 ServiceMonitor the chart renders.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}
CRD_SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR}


def validate(doc: dict[str, Any], version: str) -> str:
    """'core' or 'crd' for a valid document; raises ValueError naming what is wrong."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CRD_SCHEMAS:
        try:
            jsonschema.validate(doc, CRD_SCHEMAS[key])
        except jsonschema.ValidationError as exc:
            raise ValueError(exc.message) from exc
        return "crd"
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        raise ValueError(f"{'.'.join(map(str, exc.path))}: {exc.message}") from exc
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise ValueError(f"no schema for {key}: {exc}") from exc
    return "core"


def main(argv: list[str]) -> int:
    """Validate every manifest of the files against the schemas of Kubernetes -k (CRs
    structurally); 1 at the first invalid one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", "--kubernetes-version", default="1.35")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    counts = {"core": 0, "crd": 0}
    for path in args.files:
        with open(path) as handle:
            for doc in yaml.safe_load_all(handle):
                if not doc:
                    continue
                name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
                try:
                    counts[validate(doc, args.kubernetes_version)] += 1
                except ValueError as exc:
                    print(f"{path}: {name} is invalid: {exc}", file=sys.stderr)
                    return 1
    print(
        f"validated {counts['core']} manifests against Kubernetes "
        f"{args.kubernetes_version} schemas, {counts['crd']} CRs structurally"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
