"""The job the runner writes on stdin, parsed and checked without pydantic.

Fields are those of ``kwont_common.events.BacktestJob`` (``cash`` may be a decimal string),
plus what only the sandbox needs::

    {"mode": "backtest" | "shard" | "describe",       # default: from "kind"
     "strategy_path": "/strategy/strategy.py",        # uploaded code (sent as
                                                      # "strategy_source", see __main__)
     "mongo": {"uri": ..., "db": "ohlcv", "collection": "candles"},
     "workers": 1,                                    # threads for a grid shard
     "equity_curve": true}

``funding: true`` (the job's opt-in switch) makes the run pay the symbols' stored funding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kwont_ohlcv import INTERVAL_MS
from kwont_quant import BacktestConfig, ConfigError

MODES = ("backtest", "shard", "walk_forward", "describe")


@dataclass(frozen=True)
class MongoSource:
    """Where the sandbox reads candles: a read-only MongoDB URI, database and collection."""

    uri: str
    db: str = "ohlcv"
    collection: str = "candles"


@dataclass(frozen=True)
class SandboxJob:
    """One checked job: what to run (mode, strategy, params or param sets), on which candles,
    with which config."""

    mode: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    param_sets: list[dict[str, Any]] = field(default_factory=list)
    objective: str = "sharpe"
    symbols: list[str] = field(default_factory=list)
    interval: str = "1m"
    start_time: int = 0
    end_time: int = 0
    config: BacktestConfig = field(default_factory=BacktestConfig)
    mongo: MongoSource | None = None
    workers: int = 1
    equity_curve: bool = True
    walk_forward: dict[str, Any] = field(default_factory=dict)
    funding: bool = False


def _strategy_of(raw: dict[str, Any]) -> str:
    path = raw.get("strategy_path")
    if path:
        return str(path)
    ref = raw.get("strategy")
    name = ref.get("name") if isinstance(ref, dict) else ref
    if not isinstance(name, str) or not name:
        raise ConfigError("the job names no strategy (strategy.name or strategy_path)")
    return name


def backtest_config(raw: dict[str, Any]) -> BacktestConfig:
    """The engine settings of a job (the same mapping the runner's cache key relies on).

    Raises:
        ConfigError: invalid values.
    """
    interval = str(raw.get("interval", ""))
    try:
        return BacktestConfig.from_dict(
            {
                "cash": float(raw.get("cash", 10_000.0)),
                "fee_bps": float(raw.get("fee_bps", 0.0)),
                "slippage_bps": float(raw.get("slippage_bps", 0.0)),
                "leverage": float(raw.get("leverage", 1.0)),
                "long_only": bool(raw.get("long_only", False)),
                "margin_tiers": bool(raw.get("margin_tiers", False)),
                "sizing": dict(raw.get("sizing") or {"mode": "fraction", "value": 1.0}),
                "interval_ms": INTERVAL_MS.get(interval),
            }
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"bad backtest settings: {exc}") from exc


def parse_job(raw: object) -> SandboxJob:
    """Check and convert the decoded stdin JSON.

    Raises:
        ConfigError: not an object, unknown mode, missing or malformed fields.
    """
    if not isinstance(raw, dict):
        raise ConfigError("the job must be a JSON object")
    mode = raw.get("mode") or (
        "walk_forward"
        if raw.get("walk_forward")
        else "shard"
        if raw.get("kind") == "optimization_shard"
        else "backtest"
    )
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    if mode == "describe":
        return SandboxJob(mode=mode, strategy=str(raw.get("strategy_path") or _strategy_of(raw)))
    symbols = raw.get("symbols")
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
        raise ConfigError("symbols must be a non-empty list of strings")
    interval = raw.get("interval")
    if interval not in INTERVAL_MS:
        raise ConfigError(f"unknown interval {interval!r}")
    try:
        start, end = int(raw["start_time"]), int(raw["end_time"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError("start_time and end_time must be epoch milliseconds") from exc
    if end <= start:
        raise ConfigError("end_time must be after start_time")
    mongo = raw.get("mongo")
    if not isinstance(mongo, dict) or not isinstance(mongo.get("uri"), str):
        raise ConfigError("the job carries no mongo.uri")
    param_sets = raw.get("param_sets") or []
    if mode == "shard" and not param_sets:
        raise ConfigError("a grid shard needs param_sets")
    walk = raw.get("walk_forward") or {}
    if mode == "walk_forward" and not (
        isinstance(walk, dict) and isinstance(walk.get("grid"), dict)
    ):
        raise ConfigError("a walk-forward job needs walk_forward.grid")
    return SandboxJob(
        mode=mode,
        strategy=_strategy_of(raw),
        params=dict(raw.get("params") or {}),
        param_sets=[dict(p) for p in param_sets],
        objective=str(raw.get("objective") or "sharpe"),
        symbols=list(dict.fromkeys(symbols)),
        interval=str(interval),
        start_time=start,
        end_time=end,
        config=backtest_config(raw),
        mongo=MongoSource(
            str(mongo["uri"]),
            str(mongo.get("db") or "ohlcv"),
            str(mongo.get("collection") or "candles"),
        ),
        workers=max(1, int(raw.get("workers") or 1)),
        equity_curve=bool(raw.get("equity_curve", True)),
        walk_forward=dict(walk),
        funding=bool(raw.get("funding", False)),
    )
