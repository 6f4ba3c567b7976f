"""The Helm chart renders what the deployment needs, per service, and validates offline.

`helm template` runs for real (helm from scripts/install-helm.sh); assertions are on the
parsed manifests. `make helm-check` covers lint and schema validation of the same renders.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kwont_devstack import config
from tests.deploy.tools import installed

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "kwont"
ALL_ON = CHART / "ci" / "all-on-values.yaml"
SERVICES = tuple(s.name for s in config.SERVICES)  # the devstack's service table
CONSUMER_GROUP_SERVICES = (
    "strategy", "risk", "execution", "portfolio", "backtest-runner", "notifier"
)  # fmt: skip

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def helm() -> Path:
    return installed("install-helm.sh", "helm", "helm")


def render(helm: Path, *args: str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(helm), "template", "kwont", str(CHART), "--namespace", "kwont", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_every_service_has_its_own_objects(helm: Path) -> None:
    docs = render(helm, "-f", str(ALL_ON))
    for service in SERVICES:
        name = f"kwont-{service}"
        for kind in (
            "Deployment",
            "Service",
            "ServiceAccount",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
            "ServiceMonitor",
        ):
            assert name in by_kind(docs, kind), f"{kind} {name} missing"
        deployment = by_kind(docs, "Deployment")[name]
        pod = deployment["spec"]["template"]
        main = pod["spec"]["containers"][0]
        assert main["image"] == f"registry.example.com/kwont/{service}:0.1.0"
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        port = next(p["containerPort"] for p in main["ports"] if p["name"] == "metrics")
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        assert pod["spec"]["serviceAccountName"] == name
        assert {"configMapRef": {"name": "kwont-config"}} in main["envFrom"]
        assert {"secretRef": {"name": "kwont-secrets"}} in main["envFrom"]
        hpa = by_kind(docs, "HorizontalPodAutoscaler").get(name)
        if hpa is not None:  # autoscaled: the HPA owns the replica count
            assert "replicas" not in deployment["spec"]
            assert hpa["spec"]["scaleTargetRef"]["name"] == name
    assert "kwont-gateway" in by_kind(docs, "Ingress")
    assert set(by_kind(docs, "Job")) == {"kwont-topics", "kwont-create-admin"}
    topics = by_kind(docs, "Job")["kwont-topics"]
    assert "pre-install" in topics["metadata"]["annotations"]["helm.sh/hook"]
    assert (
        env_of(topics["spec"]["template"]["spec"]["containers"][0])["KWONT_TOPIC_PARTITIONS"]
        == "24"
    )


def test_replicas_resources_and_autoscaling_are_per_service(helm: Path) -> None:
    base = render(helm)
    changed = render(
        helm,
        "--set",
        "services.risk.replicaCount=5",
        "--set",
        "services.risk.resources.requests.cpu=2",
    )
    before, after = by_kind(base, "Deployment"), by_kind(changed, "Deployment")
    assert after["kwont-risk"]["spec"]["replicas"] == 5
    assert (
        after["kwont-risk"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
            "cpu"
        ]
        == 2
    )
    for name, deployment in before.items():
        if name != "kwont-risk":
            assert after[name] == deployment, f"{name} changed with risk's values"
    # Autoscaling one service renders one HPA, with the lag metric only behind the adapter.
    one = by_kind(
        render(helm, "--set", "services.strategy.autoscaling.enabled=true"),
        "HorizontalPodAutoscaler",
    )
    assert list(one) == ["kwont-strategy"]
    assert [m["type"] for m in one["kwont-strategy"]["spec"]["metrics"]] == ["Resource"]
    lag = by_kind(render(helm, "-f", str(ALL_ON)), "HorizontalPodAutoscaler")
    for service in CONSUMER_GROUP_SERVICES:
        external = lag[f"kwont-{service}"]["spec"]["metrics"][1]["external"]
        assert external["metric"]["name"] == "kwont_consumer_lag"
        assert external["metric"]["selector"]["matchLabels"] == {"service": service}
    assert [m["type"] for m in lag["kwont-gateway"]["spec"]["metrics"]] == ["Resource"]


def test_sandbox_network_policy_allows_only_mongo(helm: Path) -> None:
    policies = by_kind(render(helm, "-f", str(ALL_ON)), "NetworkPolicy")
    sandbox = policies["kwont-sandbox"]["spec"]
    assert sandbox["podSelector"] == {"matchLabels": {"kwont.io/role": "sandbox"}}
    assert sorted(sandbox["policyTypes"]) == ["Egress", "Ingress"]
    assert sandbox["ingress"] == []
    assert sandbox["egress"] == [
        {
            "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
            "ports": [{"port": 27017, "protocol": "TCP"}],
        }
    ]
    runner = policies["kwont-backtest-runner"]["spec"]
    allowed = sorted(p["port"] for rule in runner["egress"] for p in rule["ports"])
    assert allowed == [53, 53, 6379, 9092, 27017]


def test_runner_docker_modes(helm: Path) -> None:
    def runner(*args: str) -> dict[str, Any]:
        return by_kind(render(helm, *args), "Deployment")["kwont-backtest-runner"]["spec"][
            "template"
        ]["spec"]

    dind = runner()
    names = [c["name"] for c in dind["containers"]]
    assert names == ["backtest-runner", "dind"]
    assert dind["containers"][1]["securityContext"]["privileged"] is True
    assert env_of(dind["containers"][0])["DOCKER_HOST"] == "unix:///var/run/dind/docker.sock"
    assert "NET_ADMIN" in dind["containers"][0]["securityContext"]["capabilities"]["add"]
    host = runner("--set", "docker.mode=hostSocket")
    assert host["hostNetwork"] is True and len(host["containers"]) == 1
    assert {
        "name": "docker-socket",
        "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"},
    } in host["volumes"]
    with pytest.raises(AssertionError, match="docker.mode must be"):
        render(helm, "--set", "docker.mode=podman")
    with pytest.raises(AssertionError, match="docker.host is required"):
        render(helm, "--set", "docker.mode=external")


def test_validator_rejects_what_kubernetes_would(helm: Path, tmp_path: Path) -> None:
    """The offline validation `make helm-check` relies on fails on a bad manifest."""
    docs = render(helm, "-f", str(ALL_ON))
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump_all(docs))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    bad.write_text(yaml.safe_dump_all([deployment]))
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["interval"] = "often"
    bad_cr = tmp_path / "bad-cr.yaml"
    bad_cr.write_text(yaml.safe_dump(monitor))
    script = [
        str(ROOT / ".venv" / "bin" / "python"),
        str(ROOT / "scripts" / "validate_manifests.py"),
    ]
    assert subprocess.run([*script, str(good)], capture_output=True).returncode == 0
    for path in (bad, bad_cr):
        proc = subprocess.run([*script, str(path)], capture_output=True, text=True)
        assert proc.returncode == 1 and "is invalid" in proc.stderr
