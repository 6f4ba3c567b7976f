"""Strategies: uploads with versions, and the built-ins."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

EXAMPLE_CODE = """from kwont_quant import IntParameter, Signals, Strategy, indicators as ta


class MyCross(Strategy):
    fast = IntParameter(2, 50, default=10)
    slow = IntParameter(5, 200, default=30)

    def generate(self, candles):
        f, s = ta.sma(candles.close, self.fast), ta.sma(candles.close, self.slow)
        return Signals(enter_long=ta.crossover(f, s), exit_long=ta.crossunder(f, s))
"""


class StrategyCreate(BaseModel):
    """A strategy to upload: a name and its Python code (version 1)."""

    name: str = Field(min_length=1, max_length=80, examples=["my_cross"])
    code: str = Field(min_length=1, max_length=200_000, examples=[EXAMPLE_CODE])


class StrategyUpdate(BaseModel):
    """New code for a strategy, stored as its next version."""

    code: str = Field(min_length=1, max_length=200_000, examples=[EXAMPLE_CODE])


CheckStatus = Literal["pending", "checking", "valid", "invalid"]
"""A version's sandbox check: ``pending`` (stored, not claimed yet), ``checking`` (a
backtest-runner claimed it and is loading it in its sandbox), then ``valid`` or ``invalid``."""


class Check(BaseModel):
    """The sandbox check of a strategy version."""

    status: CheckStatus = Field(
        description="`pending` until a backtest-runner claims the version, `checking` while "
        "it loads it in its sandbox (a second or two), then `valid` (see `description`) or "
        "`invalid` (see `error`). Poll until it is `valid` or `invalid`."
    )
    description: dict[str, Any] | None = Field(
        None, description="What the strategy describes of itself (when `valid`)."
    )
    error: str | None = Field(None, description="Why the check failed (when `invalid`).")
    checked_at: dt.datetime | None = Field(
        None, description="When the check finished (when `valid` or `invalid`)."
    )


class VersionPublic(BaseModel):
    """One stored version of a strategy: its number, code hash and check."""

    version: int
    sha256: str
    created_at: dt.datetime
    check: Check


class StrategyPublic(BaseModel):
    """A built-in or uploaded strategy, with its parameters and versions."""

    id: str = Field(description="Built-in name, or the stored strategy's id.")
    name: str
    builtin: bool
    description: str | None = None
    parameters: list[dict[str, Any]] | None = None
    latest_version: int | None = None
    versions: list[VersionPublic] = Field(default_factory=list)
    created_at: dt.datetime | None = None


class StrategyDetail(StrategyPublic):
    """A strategy with the code of its latest version."""

    code: str | None = Field(None, description="Code of the latest version (uploads only).")


class VersionDetail(VersionPublic):
    """One version of an upload with its code (older versions stay for reproducible runs)."""

    strategy_id: str
    name: str
    code: str
