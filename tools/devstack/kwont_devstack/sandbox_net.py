"""The backtest sandbox network of one stack: who else uses it at ``up``, removal at ``down``.

The backtest-runner creates its Docker network (``KWONT_SANDBOX_NETWORK``, interface
``KWONT_SANDBOX_BRIDGE``), listens on the network's gateway with its Mongo relay
(``KWONT_SANDBOX_RELAY_PORT``) and adds iptables rules for the bridge. Two stacks on one
machine must not share any of the three: a shared network would let one stack's relay
answer the other's sandboxes (SO_REUSEPORT spreads connections over both), and a shared
bridge name cannot be created twice. ``up`` records what its runner will create in
``<run>/sandbox.json``; ``down`` removes exactly that (network, its containers, its rules),
after the runner has stopped.

Docker is reached with the ``docker`` package the runner brings; without the runner
installed there is no sandbox, so there is nothing to check or remove.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kwont_devstack.config import StackConfig
from kwont_devstack.dockerd import docker_base_url

RECORD = "sandbox.json"
BRIDGE_OPTION = "com.docker.network.bridge.name"
_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


@dataclass(frozen=True)
class Collision:
    """A setting whose value another stack (or something else) already uses."""

    setting: str
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.setting}={self.value}: {self.why}"


def listening(proc_net: Path = Path("/proc/net")) -> dict[int, set[str]]:
    """Listening TCP ports of this network namespace, each with the addresses bound."""
    found: dict[int, set[str]] = {}
    for name, width in (("tcp", 4), ("tcp6", 16)):
        try:
            lines = (proc_net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != _LISTEN:
                continue
            address_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(address_hex)
            # The kernel prints each 32-bit word in host (little-endian) order.
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            address = ipaddress.ip_address(packed) if len(packed) == width else None
            found.setdefault(int(port_hex, 16), set()).add(str(address))
    return found


@contextlib.contextmanager
def _docker() -> Iterator[Any]:
    """A Docker client, or None when the package or the engine is missing."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        yield None
        return
    try:
        client = docker.DockerClient(base_url=docker_base_url(), timeout=30)
        client.ping()
    except DockerException:
        yield None
        return
    try:
        yield client
    finally:
        client.close()


def _gateway(network: Any) -> str | None:
    configs = (network.attrs.get("IPAM") or {}).get("Config") or []
    return str(configs[0].get("Gateway") or "") or None if configs else None


def collisions(config: StackConfig) -> list[Collision]:
    """The sandbox settings of ``config`` that something already uses, each with why."""
    found = []
    ports = listening()
    relay = config.sandbox_relay_port
    if relay in ports:
        where = ", ".join(sorted(ports[relay]))
        found.append(Collision("KWONT_SANDBOX_RELAY_PORT", str(relay),
                               f"port {relay} is already listened on ({where})"))  # fmt: skip
    with _docker() as client:
        if client is None:
            return found
        networks = client.networks.list()
        own = next((n for n in networks if n.name == config.sandbox_network), None)
        in_use = False
        if own is not None:
            own.reload()  # the list leaves out the attached containers
            gateway = _gateway(own)
            attached = len(own.attrs.get("Containers") or {})
            serving = gateway is not None and any(gateway in a for a in ports.values())
            bridge = (own.attrs.get("Options") or {}).get(BRIDGE_OPTION)
            in_use = serving or attached > 0
            if in_use:
                found.append(Collision(
                    "KWONT_SANDBOX_NETWORK", config.sandbox_network,
                    f"Docker network {config.sandbox_network} is in use (a relay listens on "
                    f"its gateway {gateway}: another stack's backtest-runner)" if serving else
                    f"Docker network {config.sandbox_network} has {attached} container(s)",
                ))  # fmt: skip
            elif bridge != config.sandbox_bridge:
                found.append(Collision(
                    "KWONT_SANDBOX_NETWORK", config.sandbox_network,
                    f"Docker network {config.sandbox_network} exists with bridge {bridge}, not "
                    f"{config.sandbox_bridge}; pick another name or `docker network rm` it",
                ))  # fmt: skip
        others = [
            n.name for n in networks
            if (n is not own or in_use)
            and (n.attrs.get("Options") or {}).get(BRIDGE_OPTION) == config.sandbox_bridge
        ]  # fmt: skip
        if others:
            note = ", in use" if others[0] == config.sandbox_network else ""
            found.append(Collision("KWONT_SANDBOX_BRIDGE", config.sandbox_bridge,
                                   f"interface of Docker network {others[0]}{note}"))  # fmt: skip
        elif own is None and Path("/sys/class/net", config.sandbox_bridge).exists():
            found.append(Collision("KWONT_SANDBOX_BRIDGE", config.sandbox_bridge,
                                   "a network interface of that name exists"))  # fmt: skip
    return found


def _record_path(config: StackConfig) -> Path:
    return config.run_dir / RECORD


def recorded(config: StackConfig) -> list[dict[str, str]]:
    """The networks (``{"network", "bridge"}``) this run dir's ``up`` handed its runner."""
    try:
        entries = json.loads(_record_path(config).read_text())
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and {"network", "bridge"} <= e.keys()]


def record(config: StackConfig) -> None:
    """Note the network and bridge the runner of this stack will create (for ``down``)."""
    entry = {"network": config.sandbox_network, "bridge": config.sandbox_bridge}
    entries = recorded(config)
    if entry not in entries:
        _record_path(config).write_text(json.dumps([*entries, entry]) + "\n")


def remove(config: StackConfig, say: Callable[[str], None]) -> None:
    """Remove the recorded networks: their containers, firewall rules and the network.

    Call it once the runner has stopped. Forgets the record only when everything went.
    """
    entries = recorded(config)
    if not entries:
        return
    try:
        from kwont_backtest_runner.sandbox_net import SandboxNetwork
    except ImportError:
        say("sandbox network: kwont-backtest-runner is not installed; nothing removed")
        return
    with _docker() as client:
        if client is None:
            say("sandbox network: Docker does not answer; left in place until the next `down`")
            return
        for entry in entries:
            # The runner's own close: the rules of the bridge (iptables, ip6tables), the
            # containers on the network, the network; missing pieces are skipped.
            net = SandboxNetwork("", 0, name=entry["network"], bridge=entry["bridge"])
            net.close(client)
            say(f"sandbox network {entry['network']} ({entry['bridge']}) and its rules: removed")
    _record_path(config).unlink(missing_ok=True)
