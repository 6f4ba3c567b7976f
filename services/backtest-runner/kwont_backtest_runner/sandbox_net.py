"""The sandbox network: a Docker ``internal`` bridge from which only MongoDB is reachable.

Three layers make "MongoDB is the only thing a sandbox can reach" true:

1. the network is ``internal`` (no route out: Docker drops forwarding to other interfaces)
   and has inter-container traffic disabled (sandboxes cannot talk to each other);
2. a :class:`~kwont_backtest_runner.relay.MongoRelay` listens on the bridge's gateway
   address, the one host address a container can reach, and pipes to MongoDB;
3. host firewall rules (iptables, ip6tables) on the bridge interface accept only TCP to the
   relay port on the gateway and reject everything else a container sends to the host (an
   internal network still lets containers reach every host port bound to 0.0.0.0 or to any
   host address, because that traffic is INPUT, not FORWARD). Needs root and the host's
   network namespace (the runner's, or a privileged init step in production).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.types import IPAMConfig, IPAMPool

from kwont_backtest_runner.relay import MongoRelay
from kwont_backtest_runner.relay_limits import RelayLimits

DEFAULT_NETWORK = "kwont-sandbox"
DEFAULT_BRIDGE = "kwont-sbx0"


def FORWARD_REJECT(bridge: str) -> tuple[str, ...]:
    """The FORWARD rule that stops anything a sandbox sends beyond this host."""
    return ("-i", bridge, "-j", "REJECT", "--reject-with", "icmp-net-unreachable")


class FirewallError(RuntimeError):
    """iptables is missing or refused a rule (not root, no netfilter)."""


def _iptables(binary: str, *args: str, check: bool = True) -> bool:
    path = shutil.which(binary) or f"/usr/sbin/{binary}"
    proc = subprocess.run([path, "-w", "5", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise FirewallError(f"{binary} {' '.join(args)}: {proc.stderr.strip()}")
    return proc.returncode == 0


@contextlib.contextmanager
def _rules_of(bridge: str) -> Iterator[None]:
    """One writer of ``bridge``'s rules at a time, across threads and processes: two
    runners rebuilding the chain at once interleaved their flush and appends, leaving the
    REJECT ahead of the ACCEPT, and every sandbox of both lost MongoDB."""
    folder = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
    with open(folder / f"kwont-firewall-{bridge}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install_firewall(bridge: str, gateway: str, port: int) -> None:
    """Accept only ``tcp gateway:port`` from ``bridge``; reject or drop everything else.

    Idempotent (the chain is rebuilt, one runner at a time). Several runners on one host
    share the relay port (it binds with SO_REUSEPORT), so rebuilding never locks another
    runner out.

    Raises:
        FirewallError: iptables missing or a rule refused.
    """
    with _rules_of(bridge):
        _install(bridge, gateway, port)


def _install(bridge: str, gateway: str, port: int) -> None:
    chain = f"KWONT-{bridge}"[:28]
    _iptables("iptables", "-N", chain, check=False)
    _iptables("iptables", "-F", chain)
    _iptables("iptables", "-A", chain, "-p", "tcp", "-d", gateway, "--dport", str(port),
              "-j", "ACCEPT")  # fmt: skip
    # A reset answers TCP at once (a quick, clear "connection refused" for user code).
    _iptables("iptables", "-A", chain, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
    _iptables("iptables", "-A", chain, "-j", "DROP")
    if not _iptables("iptables", "-C", "INPUT", "-i", bridge, "-j", chain, check=False):
        _iptables("iptables", "-I", "INPUT", "1", "-i", bridge, "-j", chain)
    # Forwarded traffic (anything not addressed to the host): Docker's internal-network
    # rules drop it already; this rejects it first and fast ("network unreachable").
    if not _iptables("iptables", "-C", "FORWARD", *FORWARD_REJECT(bridge), check=False):
        _iptables("iptables", "-I", "FORWARD", "1", *FORWARD_REJECT(bridge))
    if shutil.which("ip6tables") or shutil.which("ip6tables", path="/usr/sbin"):
        for table_chain in ("INPUT", "FORWARD"):
            if not _iptables("ip6tables", "-C", table_chain, "-i", bridge, "-j", "DROP",
                             check=False):  # fmt: skip
                _iptables("ip6tables", "-I", table_chain, "1", "-i", bridge, "-j", "DROP")


def remove_firewall(bridge: str) -> None:
    """Remove the rules :func:`install_firewall` added (missing ones are ignored)."""
    with _rules_of(bridge):
        _remove(bridge)


def _remove(bridge: str) -> None:
    chain = f"KWONT-{bridge}"[:28]
    while _iptables("iptables", "-D", "INPUT", "-i", bridge, "-j", chain, check=False):
        pass
    while _iptables("iptables", "-D", "FORWARD", *FORWARD_REJECT(bridge), check=False):
        pass
    _iptables("iptables", "-F", chain, check=False)
    _iptables("iptables", "-X", chain, check=False)
    for table_chain in ("INPUT", "FORWARD"):
        while _iptables("ip6tables", "-D", table_chain, "-i", bridge, "-j", "DROP", check=False):
            pass


def ensure_network(
    client: docker.DockerClient, name: str, bridge: str, subnet: str | None = None
) -> tuple[str, str]:
    """The ``(subnet, gateway)`` of Docker network ``name``, created internal if missing.

    Raises:
        docker.errors.APIError: the engine refused to create it (e.g. subnet overlap).
    """
    try:
        net = client.networks.get(name)
    except NotFound:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]) if subnet else None
        options = {
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.bridge.enable_icc": "false",
        }
        try:
            net = client.networks.create(
                name, driver="bridge", internal=True, options=options, ipam=ipam,
                labels={"kwont.sandbox": "1"},
            )  # fmt: skip
        except APIError:
            net = client.networks.get(name)  # created concurrently by another runner
        net.reload()
    if not net.attrs.get("Internal"):
        raise APIError(f"network {name} exists but is not internal; remove it")
    config = net.attrs["IPAM"]["Config"][0]
    gateway = config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    return str(config["Subnet"]), str(gateway)


@dataclass
class SandboxNetwork:
    """The network plus its relay and firewall, opened once per runner process.

    ``mongo_host``/``mongo_port``: where the relay forwards (the runner's MongoDB address).
    ``relay_port``: the port on the gateway (0 picks a free one; use a fixed one when
    several runners share a host). ``limits``: per sandbox at the relay.
    """

    mongo_host: str
    mongo_port: int
    name: str = DEFAULT_NETWORK
    bridge: str = DEFAULT_BRIDGE
    subnet: str | None = None
    relay_port: int = 0
    firewall: bool = True
    gateway: str = ""
    limits: RelayLimits = field(default_factory=RelayLimits)
    _relay: MongoRelay | None = None

    def open(self, client: docker.DockerClient) -> SandboxNetwork:
        """Create/reuse the network, start the relay, install the firewall.

        Raises:
            docker.errors.APIError, OSError (relay bind), FirewallError.
        """
        self.subnet, self.gateway = ensure_network(client, self.name, self.bridge, self.subnet)
        relay = MongoRelay(self.gateway, self.relay_port, self.mongo_host, self.mongo_port,
                           self.limits)  # fmt: skip
        relay.start()
        self._relay, self.relay_port = relay, relay.listen_port
        try:
            if self.firewall:
                install_firewall(self.bridge, self.gateway, self.relay_port)
        except FirewallError:
            self.close()
            raise
        return self

    def close(self, client: docker.DockerClient | None = None) -> None:
        """Stop the relay; with ``client``, also drop the firewall and the network."""
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        if client is not None:
            remove_firewall(self.bridge)
            for c in client.containers.list(all=True, filters={"network": self.name}):
                with contextlib.suppress(NotFound, APIError):
                    c.remove(force=True)
            with contextlib.suppress(NotFound, APIError):
                client.networks.get(self.name).remove()
