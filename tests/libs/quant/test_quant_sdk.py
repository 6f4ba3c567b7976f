"""Strategy SDK: parameters, loading user files, describing, the user-code seam."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kwont_quant import (
    BUILTINS,
    BacktestConfig,
    Candles,
    FloatParameter,
    IntParameter,
    ParameterError,
    Signals,
    Strategy,
    StrategyError,
    StrategyLoadError,
    describe_strategy,
    load_strategy,
    run_backtest,
)
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit

USER_STRATEGY = '''
import numpy as np
from kwont_quant import Strategy, Signals, IntParameter, indicators as ta

class Momentum(Strategy):
    """Long while the close is above its N-bar-ago value."""
    lookback = IntParameter(2, 100, default=10)

    def warmup(self) -> int:
        return self.lookback

    def generate(self, candles):
        past = ta.shift(candles.close, self.lookback)
        up = candles.close > past
        return Signals(enter_long=up, exit_long=~up)
'''


def test_builtin_names_and_parameters_are_the_contract() -> None:
    expected = {
        "sma_cross": ["fast", "slow"],
        "ema_cross": ["fast", "slow"],
        "rsi_reversion": ["period", "lower", "upper"],
        "bollinger_breakout": ["period", "std"],
        "macd_cross": ["fast", "slow", "signal"],
        "donchian_breakout": ["period"],
    }
    assert {n: list(c.parameters()) for n, c in BUILTINS.items()} == expected


def test_describe_strategy_is_json_able() -> None:
    d = describe_strategy(load_strategy("sma_cross"))
    assert json.loads(json.dumps(d)) == d
    assert d["name"] == "sma_cross"
    fast = d["parameters"][0]
    assert fast == {
        "name": "fast",
        "type": "int",
        "default": 10,
        "min": 2,
        "max": 500,
        "step": 1,
        "description": "fast period (bars)",
    }
    bb = describe_strategy(load_strategy("bollinger_breakout"))["parameters"][1]
    assert bb["type"] == "float" and bb["step"] == 0.25


def test_parameters_are_typed_and_range_checked() -> None:
    cls = load_strategy("sma_cross")
    s = cls(fast="5", slow=20.0)
    assert (s.fast, s.slow) == (5, 20) and isinstance(s.slow, int)
    assert isinstance(cls.fast, IntParameter)
    with pytest.raises(ParameterError, match="outside its range 2..500"):
        cls(fast=1000)
    with pytest.raises(ParameterError, match="must be below slow"):
        cls(fast=30, slow=10)
    with pytest.raises(ParameterError, match="unknown parameter"):
        cls(fats=3)
    with pytest.raises(ParameterError, match="integer"):
        cls(fast=2.5)
    with pytest.raises(ParameterError):
        load_strategy("rsi_reversion")(lower="abc")
    with pytest.raises(ParameterError, match="outside"):
        run_backtest("sma_cross", gbm_ohlcv(100), params={"slow": 5000})


def test_float_parameter_grid() -> None:
    p = FloatParameter(0.5, 1.5, default=1.0, step=0.25)
    assert p.grid() == [0.5, 0.75, 1.0, 1.25, 1.5]


def test_user_strategy_file_loads_and_runs(tmp_path: Path) -> None:
    path = tmp_path / "momentum.py"
    path.write_text(USER_STRATEGY)
    cls = load_strategy(str(path))
    assert cls.strategy_name() == "momentum"
    assert describe_strategy(cls)["description"].startswith("Long while")
    result = run_backtest(str(path), gbm_ohlcv(2000, seed=4), params={"lookback": 20})
    assert result.metrics.n_trades > 0


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "defines no strategy class"),
        ("from kwont_quant.strategies import SmaCross\n", "defines no strategy class"),
        ("import nonexistent_module_xyz\n", "No module named"),
        ("def broken(:\n", "SyntaxError"),
        (
            USER_STRATEGY + USER_STRATEGY.replace("Momentum", "Other").split("\n", 3)[3],
            "several strategy classes",
        ),
    ],
)
def test_bad_strategy_files_are_refused(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "user.py"
    path.write_text(source)
    with pytest.raises(StrategyLoadError, match=message):
        load_strategy(str(path))


def test_strategy_load_errors_for_names_and_paths(tmp_path: Path) -> None:
    with pytest.raises(StrategyLoadError, match="unknown strategy"):
        load_strategy("no_such_strategy")
    with pytest.raises(StrategyLoadError, match="does not exist"):
        load_strategy(str(tmp_path / "missing.py"))
    path = tmp_path / "two.py"
    path.write_text(USER_STRATEGY + USER_STRATEGY.replace("Momentum", "Other").split("\n", 3)[3])
    assert load_strategy(f"{path}:Other").__name__ == "Other"


class Crashing(Strategy):
    def generate(self, candles: Candles) -> Signals:
        return Signals(enter_long=candles.close > {}["threshold"])


class WrongLength(Strategy):
    def generate(self, candles: Candles) -> Signals:
        return Signals(enter_long=np.zeros(3, dtype=bool))


class WrongType(Strategy):
    def generate(self, candles: Candles) -> Signals:
        return {"enter_long": []}  # type: ignore[return-value]


class BadSize(Strategy):
    def generate(self, candles: Candles) -> Signals:
        return Signals(enter_long=np.ones(len(candles), dtype=bool), size=1.5)


class BadCheck(Strategy):
    def check(self) -> None:
        raise KeyError("oops")


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (Crashing, "strategy code failed in generate: KeyError"),
        (WrongLength, "shape"),
        (WrongType, "must return Signals"),
        (BadSize, "size hint"),
        (BadCheck, "failed in BadCheck.__init__: KeyError"),
    ],
)
def test_user_code_failures_become_strategy_errors(cls: type[Strategy], message: str) -> None:
    with pytest.raises(StrategyError, match=message) as info:
        run_backtest(cls, gbm_ohlcv(50), BacktestConfig())
    if cls in (Crashing, BadCheck):
        assert "Traceback" in info.value.traceback_text
