"""What the embedded stack runs and where: the service table, ports and the run dir.

Everything is overridable by environment variable (see docs/embedded-stack.md):
``KWONT_RUN_DIR``, ``KWONT_KAFKA_PORT``, ``KWONT_MONGO_PORT``, ``KWONT_REDIS_PORT``,
``KWONT_GATEWAY_HTTP_PORT`` and ``KWONT_<SERVICE>_METRICS_PORT`` (service name upper-cased,
dashes as underscores, e.g. ``KWONT_BACKTEST_RUNNER_METRICS_PORT``).
"""

from __future__ import annotations

import os
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

    @property
    def script(self) -> str:
        return f"kwont-{self.name}"

    @property
    def env_stem(self) -> str:
        return self.name.upper().replace("-", "_")


#: THE service table: adding a service to the embedded stack is one line here.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", 9101, http_port=8000),
    ServiceSpec("marketdata", 9102),
    ServiceSpec("strategy", 9103),
    ServiceSpec("risk", 9104),
    ServiceSpec("execution", 9105),
    ServiceSpec("portfolio", 9106),
    ServiceSpec("backtest-runner", 9107),
)


class ConfigError(ValueError):
    """A port or path from the environment is unusable."""


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
        )
        config.check_unique_ports()
        return config

    def check_unique_ports(self) -> None:
        """Raise :class:`ConfigError` if two listeners were given the same port."""
        ports = [self.kafka_port, self.mongo_port, self.redis_port]
        for spec in self.services:
            ports.append(spec.metrics_port)
            if spec.http_port is not None:
                ports.append(spec.http_port)
        duplicates = sorted({p for p in ports if ports.count(p) > 1})
        if duplicates:
            raise ConfigError(f"ports used twice: {duplicates}")

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def mongo_data_dir(self) -> Path:
        return self.run_dir / "data" / "mongo"

    @property
    def redis_data_dir(self) -> Path:
        return self.run_dir / "data" / "redis"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.host}:{self.redis_port}/0"

    def log_path(self, program: str) -> Path:
        """Log file of an engine or service (``<run>/logs/<program>.log``)."""
        return self.logs_dir / f"{program}.log"
