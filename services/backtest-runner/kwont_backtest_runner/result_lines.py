"""The strict models of a sandbox's ``result`` lines, one per mode, and their bounds.

Known fields only, finite numbers, money within what a ``Decimal`` column holds, bounded
strings, counts and nesting; :mod:`kwont_backtest_runner.result_check` validates a line
against the model of its mode and words the first failure.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from kwont_quant import Metrics

MAX_TRADES = 500_000
MAX_SYMBOLS = 200
MAX_PARAMS = 64
MAX_TEXT = 200
MAX_DESCRIPTION = 4_000
MAX_ROWS = 10_000  # rankings of a shard, parameters of a strategy
MAX_WINDOWS = 100
MAX_CURVE_POINTS = 5_000_000
MONEY_LIMIT = 1e18  # what the 8-decimal text of final_equity can hold exactly
MAX_BLOCKS = 64  # CSCV blocks of a ranking row's moments (the sandbox writes 16)

Finite = Annotated[float, Field(allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False, ge=-MONEY_LIMIT, le=MONEY_LIMIT)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]


def _small(value: Any) -> str | None:
    """Why ``value`` is not a small scalar (or a short list of them); None when it is."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_PARAMS:
        return f" has more than {MAX_PARAMS} items"
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            return " is not finite"
        if isinstance(item, str) and len(item) > MAX_TEXT:
            return f" is longer than {MAX_TEXT} characters"
        if not isinstance(item, str | int | float | bool | None):
            return " is not a number, text or boolean"
    return None


def _scalars(values: dict[str, Any]) -> dict[str, Any]:
    for key, value in values.items():
        if (why := _small(value)) is not None:
            raise ValueError(f".{key[:MAX_TEXT]}{why}")  # the field's path is put in front
    return values


Params = Annotated[dict[Text, Any], Field(max_length=MAX_PARAMS), AfterValidator(_scalars)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


# Exactly the fields of kwont_quant's Metrics; a value the engine found non-finite is null.
MetricsLine = create_model(  # type: ignore[call-overload]
    "MetricsLine",
    __base__=_Strict,
    **{f.name: (Finite | None, None) for f in dataclasses.fields(Metrics)},
)


class Curve(_Strict):
    """An equity curve as float64 little-endian arrays, zlib-compressed and base64-encoded."""

    encoding: Literal["f64le+zlib+base64"]
    open_time_ms: Annotated[str, Field(max_length=64 * 1024 * 1024)]
    equity: Annotated[str, Field(max_length=64 * 1024 * 1024)]


class Trade(_Strict):
    """One closed trade of a result."""

    side: Literal["long", "short"]
    entry_time: Text
    exit_time: Text
    entry_price: Money
    exit_price: Money
    qty: Money
    fees: Money
    pnl: Money
    funding: Money | None = None  # funding paid (negative: received); jobs with funding on
    exit_reason: Text
    entry_time_ms: int
    exit_time_ms: int
    symbol: Text | None = None


class SymbolBlock(_Strict):
    """One symbol's part of a multi-symbol result."""

    metrics: MetricsLine
    final_equity: Money
    trade_count: Annotated[int, Field(ge=0, le=MAX_TRADES)]
    equity_curve: Curve | None = None


Fraction = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1)]
# One block's power sums of per-bar returns: [n, sum r, sum r^2, sum r^3, sum r^4].
PowerSums = Annotated[list[Finite], Field(min_length=5, max_length=5)]


class Bands(_Strict):
    """Monte Carlo percentiles of final equity and max drawdown."""

    final_equity_p5: Money
    final_equity_p50: Money
    final_equity_p95: Money
    max_drawdown_p5: Fraction
    max_drawdown_p50: Fraction
    max_drawdown_p95: Fraction


class MonteCarloLine(_Strict):
    """The Monte Carlo block of a backtest result."""

    paths: Annotated[int, Field(ge=1, le=1_000_000)]
    seed: int
    trades: Annotated[int, Field(ge=1, le=MAX_TRADES)]
    permutation: Bands
    bootstrap: Bands


class BacktestLine(_Strict):
    """The result of a backtest job."""

    mode: Literal["backtest"]
    strategy: Text
    params: Params
    metrics: MetricsLine
    final_equity: Money  # null here means the engine's equity was not finite
    trades: Annotated[list[Trade], Field(max_length=MAX_TRADES)]
    symbols: Annotated[dict[Text, SymbolBlock], Field(max_length=MAX_SYMBOLS)]
    candles: Annotated[dict[Text, Annotated[int, Field(ge=0)]], Field(max_length=MAX_SYMBOLS)]
    equity_curve: Curve | None = None
    monte_carlo: MonteCarloLine | None = None


class Ranking(_Strict):
    """One evaluated parameter set of a grid shard."""

    params: Params
    score: Finite | None
    metrics: MetricsLine
    index: Annotated[int, Field(ge=0)]
    moments: Annotated[list[PowerSums], Field(min_length=2, max_length=MAX_BLOCKS)] | None = None


class ShardLine(_Strict):
    """The result of a grid shard: its parameter sets ranked."""

    mode: Literal["shard"]
    objective: Text
    rankings: Annotated[list[Ranking], Field(max_length=MAX_ROWS)]


class Window(_Strict):
    """One walk-forward window: its bounds, winner and scores."""

    in_sample: Annotated[list[Text], Field(min_length=2, max_length=2)]
    out_of_sample: Annotated[list[Text], Field(min_length=2, max_length=2)]
    params: Params
    in_sample_score: Finite | None
    out_of_sample_score: Finite | None
    out_of_sample_metrics: MetricsLine


class WalkForward(_Strict):
    """A walk-forward report of one symbol."""

    objective: Text
    mean_in_sample_score: Finite | None
    mean_out_of_sample_score: Finite | None
    windows: Annotated[list[Window], Field(max_length=MAX_WINDOWS)]


class WalkForwardLine(_Strict):
    """The result of a walk-forward job."""

    mode: Literal["walk_forward"]
    symbol: Text
    walk_forward: WalkForward


class Parameter(BaseModel):
    """One parameter's description; its keys depend on the parameter type, so extra keys
    are allowed but must be small scalars or short lists of them."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, frozen=True)
    name: Text

    @model_validator(mode="after")
    def _small_extras(self) -> Parameter:
        _scalars(self.model_extra or {})
        return self


class Description(_Strict):
    """What an uploaded strategy says of itself: name, class, description and parameters."""

    name: Text
    class_: Text = Field(alias="class")
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)]
    interface_version: int
    parameters: Annotated[list[Parameter], Field(max_length=MAX_PARAMS)]


class DescribeLine(_Strict):
    """The result of a describe (check) job."""

    mode: Literal["describe"]
    strategy: Description


LINES: dict[str, type[BaseModel]] = {
    "backtest": BacktestLine,
    "shard": ShardLine,
    "walk_forward": WalkForwardLine,
    "describe": DescribeLine,
}
