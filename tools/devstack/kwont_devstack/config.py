"""What the embedded stack runs and where: the service table, ports and the run dir.

Everything is overridable by environment variable (see docs/embedded-stack.md):
``KWONT_RUN_DIR``, ``KWONT_KAFKA_PORT``, ``KWONT_MONGO_PORT``, ``KWONT_REDIS_PORT``,
``KWONT_GATEWAY_HTTP_PORT``, ``KWONT_<SERVICE>_METRICS_PORT`` (service name upper-cased,
dashes as underscores, e.g. ``KWONT_BACKTEST_RUNNER_METRICS_PORT``) and the backtest
sandbox's ``KWONT_SANDBOX_NETWORK``, ``KWONT_SANDBOX_BRIDGE``, ``KWONT_SANDBOX_RELAY_PORT``
(the runner's own settings, passed on to it).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServiceSpec:
    """One Kwont service: console script ``kwont-<name>``, /healthz + /metrics port."""

    name: str
    metrics_port: int
    http_port: int | None = None  # only the gateway serves an API
    #: Consumer groups ``up`` waits for (joined, partitions handed out) before it says ready.
    groups: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        """The service's console script, ``kwont-<name>``."""
        return f"kwont-{self.name}"

    @property
    def env_stem(self) -> str:
        """The name as used in settings: upper-cased, dashes as underscores."""
        return self.name.upper().replace("-", "_")


#: THE service table: adding a service to the embedded stack is one line here.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", 9101, http_port=8000),
    ServiceSpec("marketdata", 9102),
    ServiceSpec("strategy", 9103, groups=("kwont-strategy",)),
    ServiceSpec("risk", 9104, groups=("kwont-risk",)),
    ServiceSpec("execution", 9105, groups=("kwont-execution",)),
    ServiceSpec("portfolio", 9106, groups=("kwont-portfolio",)),
    ServiceSpec("backtest-runner", 9107, groups=("kwont-backtest-runner",)),
    ServiceSpec("notifier", 9108, groups=("kwont-notifier",)),
)


SANDBOX_NETWORK = "kwont-sandbox"
SANDBOX_BRIDGE = "kwont-sbx0"
SANDBOX_RELAY_PORT = 27117
# Linux interface names: at most 15 characters (IFNAMSIZ - 1), no '/', ':' or blanks.
_BRIDGE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class ConfigError(ValueError):
    """A port or path from the environment is unusable."""


@dataclass(frozen=True)
class Listener:
    """One TCP port the stack listens on, and the setting that moves it."""

    what: str
    port: int
    setting: str


def _port(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{key}={raw!r} is not a port number") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"{key}={port} is out of range")
    return port


def _name(env: dict[str, str], key: str, default: str, pattern: re.Pattern[str]) -> str:
    value = env.get(key) or default
    if not pattern.fullmatch(value):
        raise ConfigError(
            f"{key}={value!r} is not a valid name"
            + (" (an interface name: at most 15 of A-Z a-z 0-9 _ . -)" if "BRIDGE" in key else "")
        )
    return value


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest directory above ``start`` (default: cwd, then this file) holding ``.git``."""
    candidates = [start] if start else [Path.cwd(), Path(__file__).resolve()]
    for origin in candidates:
        for folder in [origin, *origin.parents]:
            if (folder / ".git").exists():
                return folder
    return Path.cwd()


@dataclass(frozen=True)
class StackConfig:
    """Ports, directories and services of one embedded stack."""

    repo_root: Path
    run_dir: Path
    bin_dir: Path
    kafka_port: int = 9092
    mongo_port: int = 27017
    redis_port: int = 6379
    services: tuple[ServiceSpec, ...] = SERVICES
    host: str = HOST
    sandbox_network: str = SANDBOX_NETWORK
    sandbox_bridge: str = SANDBOX_BRIDGE
    sandbox_relay_port: int = SANDBOX_RELAY_PORT

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StackConfig:
        """Build the config from ``env`` (default ``os.environ``). Raises :class:`ConfigError`."""
        env = dict(os.environ if env is None else env)
        repo_root = find_repo_root()
        run_dir = Path(env.get("KWONT_RUN_DIR") or repo_root / ".run").resolve()
        services = tuple(
            replace(
                spec,
                metrics_port=_port(env, f"KWONT_{spec.env_stem}_METRICS_PORT", spec.metrics_port),
                http_port=None
                if spec.http_port is None
                else _port(env, f"KWONT_{spec.env_stem}_HTTP_PORT", spec.http_port),
            )
            for spec in SERVICES
        )
        config = cls(
            repo_root=repo_root,
            run_dir=run_dir,
            # The venv's bin: console scripts of the services and of this package live there.
            bin_dir=Path(sys.executable).parent,
            kafka_port=_port(env, "KWONT_KAFKA_PORT", 9092),
            mongo_port=_port(env, "KWONT_MONGO_PORT", 27017),
            redis_port=_port(env, "KWONT_REDIS_PORT", 6379),
            services=services,
            sandbox_network=_name(env, "KWONT_SANDBOX_NETWORK", SANDBOX_NETWORK, _NETWORK_NAME),
            sandbox_bridge=_name(env, "KWONT_SANDBOX_BRIDGE", SANDBOX_BRIDGE, _BRIDGE_NAME),
            sandbox_relay_port=_port(env, "KWONT_SANDBOX_RELAY_PORT", SANDBOX_RELAY_PORT),
        )
        config.check_unique_ports()
        return config

    def listeners(self) -> list[Listener]:
        """Every TCP port of the stack with the setting that moves it (the sandbox's relay
        too: it listens on the sandbox network's gateway address)."""
        found = [
            Listener("tansu (Kafka)", self.kafka_port, "KWONT_KAFKA_PORT"),
            Listener("secantusdb (MongoDB)", self.mongo_port, "KWONT_MONGO_PORT"),
            Listener("redis", self.redis_port, "KWONT_REDIS_PORT"),
        ]
        for spec in self.services:
            if spec.http_port is not None:
                found.append(
                    Listener(f"{spec.name} API", spec.http_port, f"KWONT_{spec.env_stem}_HTTP_PORT")
                )
            found.append(
                Listener(
                    f"{spec.name} metrics", spec.metrics_port, f"KWONT_{spec.env_stem}_METRICS_PORT"
                )
            )
        found.append(
            Listener("sandbox Mongo relay", self.sandbox_relay_port, "KWONT_SANDBOX_RELAY_PORT")
        )
        return found

    def check_unique_ports(self) -> None:
        """Raise :class:`ConfigError` naming the settings that were given the same port."""
        by_port: dict[int, list[str]] = {}
        for listener in self.listeners():
            by_port.setdefault(listener.port, []).append(listener.setting)
        twice = [f"{port} ({' and '.join(ks)})" for port, ks in by_port.items() if len(ks) > 1]
        if twice:
            raise ConfigError(f"ports used twice: {', '.join(twice)}; give each its own port")

    @property
    def logs_dir(self) -> Path:
        """Where every program's log goes: ``<run>/logs``."""
        return self.run_dir / "logs"

    @property
    def mongo_data_dir(self) -> Path:
        """SecantusDB's data directory: ``<run>/data/mongo``."""
        return self.run_dir / "data" / "mongo"

    @property
    def redis_data_dir(self) -> Path:
        """Redis's data directory: ``<run>/data/redis``."""
        return self.run_dir / "data" / "redis"

    @property
    def kafka_bootstrap(self) -> str:
        """Kafka bootstrap address of tansu, ``host:port``."""
        return f"{self.host}:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        """URL of Redis, database 0."""
        return f"redis://{self.host}:{self.redis_port}/0"

    def log_path(self, program: str) -> Path:
        """Log file of an engine or service (``<run>/logs/<program>.log``)."""
        return self.logs_dir / f"{program}.log"
