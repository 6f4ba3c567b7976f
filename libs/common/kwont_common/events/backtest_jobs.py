"""Topic ``backtest-jobs``: a backtest, one shard of a grid search, or a deployment's
divergence report (live versus a re-run backtest), keyed ``job_id``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kwont_common.events.envelope import Event
from kwont_common.events.fields import EpochMs, Interval, Money, Symbol

ParamValue = int | float | bool | str


class StrategyRef(BaseModel):
    """Which strategy to run: a built-in by name, or a stored upload by id and version."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, description="Built-in name or stored strategy id.")
    builtin: bool = True
    version: int | None = Field(None, ge=1)
    code_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class Sizing(BaseModel):
    """Fraction of equity per entry, or a fixed notional in quote currency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mode: Literal["fraction", "notional"] = "fraction"
    value: float = Field(
        1.0,
        gt=0,
        description="Equity fraction (mode `fraction`) or quote notional (mode `notional`); "
        "JSON number (float).",
    )


class WalkForwardSpec(BaseModel):
    """Rolling walk-forward: the grid is searched in-sample in each window and its winner is
    scored on the following out-of-sample span."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    grid: dict[str, list[ParamValue]] = Field(min_length=1)
    windows: int = Field(4, ge=1, le=50)
    in_sample: float = Field(
        0.75, gt=0, lt=1, description="In-sample share of each window; JSON number (float)."
    )


class BacktestJob(Event):
    """What the runner needs to run one job without asking anyone."""

    job_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    owner: str = Field(min_length=1)
    kind: Literal["backtest", "optimization_shard", "divergence"] = "backtest"
    optimization_id: str | None = None
    deployment_id: str | None = Field(
        None, description="Divergence: the deployment whose live trades are compared."
    )
    account: str | None = Field(None, description="Divergence: that deployment's account.")
    warmup_bars: int = Field(
        0, ge=0, le=100_000,
        description="Divergence: candles before start_time the re-run loads to warm up "
        "(the strategy's warm-up); trading starts at start_time.",
    )  # fmt: skip
    shard_index: int = Field(0, ge=0)
    shard_count: int = Field(1, ge=1)
    strategy: StrategyRef
    params: dict[str, ParamValue] = Field(default_factory=dict)
    param_sets: list[dict[str, ParamValue]] | None = Field(
        None, description="Grid shard: the parameter sets to evaluate."
    )
    objective: str = "sharpe"
    symbols: list[Symbol] = Field(min_length=1)
    interval: Interval
    start_time: EpochMs
    end_time: EpochMs
    cash: Money = Field(gt=0, description="Starting cash, in quote asset; decimal string.")
    fee_bps: float = Field(
        0.0, ge=0, le=1000, description="Fee per fill in basis points; JSON number (float)."
    )
    slippage_bps: float = Field(
        0.0, ge=0, le=1000, description="Slippage per fill in basis points; JSON number (float)."
    )
    leverage: float = Field(1.0, ge=1, le=125, description="Leverage; JSON number (float).")
    long_only: bool = False
    margin_tiers: bool = Field(
        False,
        description="Liquidate by the symbol's notional bracket (kwont_quant.brackets) instead "
        "of the flat maintenance margin.",
    )
    funding: bool = Field(
        False,
        description="Apply the symbols' stored perpetual funding (ohlcv.funding) to open "
        "positions; the job fails when a symbol has none in the range.",
    )
    sizing: Sizing = Field(default_factory=Sizing)
    walk_forward: WalkForwardSpec | None = Field(
        None, description="Run a walk-forward of this grid instead of ranking param_sets."
    )

    @model_validator(mode="after")
    def _coherent(self) -> BacktestJob:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.shard_index >= self.shard_count:
            raise ValueError("shard_index must be below shard_count")
        if self.kind == "optimization_shard" and not self.param_sets:
            raise ValueError("an optimization shard needs param_sets")
        if self.kind == "divergence" and not (self.deployment_id and self.account):
            raise ValueError("a divergence job needs deployment_id and account")
        return self

    def key(self) -> str:
        """The job id: a job's messages stay on one partition."""
        return self.job_id
