"""The strict boundary check of what comes out of the sandbox, and the credential mask."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pytest

from kwont_backtest_runner.redact import RedactingFormatter, Redactor
from kwont_backtest_runner.result_check import InvalidResult, check_curves, check_result

pytestmark = pytest.mark.unit


def line(**over: Any) -> dict[str, Any]:
    """A backtest result line's payload shaped as kwont_sandbox.run writes it."""
    trade = {
        "side": "long", "entry_time": "2024-01-01T00:01:00Z", "entry_price": 100.0,
        "exit_time": "2024-01-01T00:05:00Z", "exit_price": 101.0, "qty": 1.0, "fees": 0.2,
        "pnl": 0.8, "exit_reason": "signal", "entry_time_ms": 1, "exit_time_ms": 5,
        "symbol": "BTCUSDT",
    }  # fmt: skip
    body: dict[str, Any] = {
        "mode": "backtest", "strategy": "sma_cross", "params": {"fast": 10, "slow": 40},
        "metrics": {"sharpe": 1.2, "total_return": 0.1, "profit_factor": None, "n_trades": 1},
        "final_equity": 10_000.8, "trades": [trade],
        "symbols": {"BTCUSDT": {"metrics": {"sharpe": 1.2}, "final_equity": 10_000.8,
                                "trade_count": 1}},
        "candles": {"BTCUSDT": 100},
    }  # fmt: skip
    body.update(over)
    return body


def reason(body: dict[str, Any]) -> str:
    with pytest.raises(InvalidResult) as caught:
        check_result(body)
    return str(caught.value)


def test_a_result_as_the_sandbox_writes_it_passes() -> None:
    check_result(line())


def test_non_finite_numbers_are_named_by_their_field() -> None:
    # json.loads, as the runner reads the line, turns NaN and Infinity into floats
    forged = json.loads('{"sharpe": NaN, "total_return": 1e308, "calmar": Infinity}')
    assert reason(line(metrics=forged)) == "metrics.sharpe is not finite"
    assert reason(line(final_equity=1e308)) == "final_equity is above 1e+18"
    assert reason(line(final_equity=None)) == "final_equity is null (not a finite number)"
    bad_trade = {**line()["trades"][0], "pnl": float("-inf")}
    assert reason(line(trades=[bad_trade])) == "trades[0].pnl is not finite"
    assert reason(line(params={"fast": float("nan")})) == "params.fast is not finite"


def test_unknown_fields_modes_and_oversized_parts_are_refused() -> None:
    assert reason(line(extra=1)) == "extra is not a known field"
    assert reason(line(metrics={"sharpe": 1.0, "made_up": 2.0})) == (
        "metrics.made_up is not a known field"
    )
    assert reason(line(mode="exfiltrate")) == "mode 'exfiltrate' is not a known mode"
    assert reason(line(strategy="x" * 5000)) == "strategy is longer than 200 characters"
    many = {f"p{i}": i for i in range(1000)}
    assert reason(line(params=many)) == "params has more than 64 items"
    assert reason(line(params={"blob": ["x"] * 1000})) == "params.blob has more than 64 items"
    assert reason(line(trades=[{}])) == "trades[0].side is missing"


def test_curves_must_be_finite_and_of_equal_length() -> None:
    good = {"open_time_ms": np.arange(3), "equity": np.array([1.0, 2.0, 3.0])}
    check_curves({"equity_curve": good})
    overflow = {**good, "equity": np.array([1.0, np.inf, 3.0])}
    with pytest.raises(InvalidResult, match=r"equity_curve.equity is not finite .* point 1"):
        check_curves({"equity_curve": overflow})
    with pytest.raises(InvalidResult, match="symbols.X.equity_curve has 3 times but 2 values"):
        check_curves({"symbols": {"X": {"equity_curve": {**good, "equity": np.ones(2)}}}})


def test_the_redactor_masks_the_uri_its_userinfo_and_the_password() -> None:
    uri = "mongodb://backtest_readonly:s3cr%2Fet@10.0.0.1:27117/?authSource=ohlcv"
    redact = Redactor.of_uris(uri)
    text = f"boom {uri} then s3cr/et and s3cr%2Fet and backtest_readonly:s3cr%2Fet"
    masked = redact(text)
    assert "s3cr" not in masked and masked.startswith("boom ***")
    assert redact.tree({"k s3cr/et": ["x s3cr/et"]}) == {"k ***": ["x ***"]}


def test_log_lines_are_masked_exception_text_included() -> None:
    redact = Redactor(["hunter2"])
    fmt = RedactingFormatter(logging.Formatter("%(message)s"), redact)
    try:
        raise RuntimeError("password hunter2")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", ("hunter2",),
                                   exc_info=__import__("sys").exc_info())  # fmt: skip
    out = fmt.format(record)
    assert "hunter2" not in out and "got ***" in out and "password ***" in out


def test_real_shard_walk_forward_and_describe_lines_pass() -> None:
    """The other modes, as kwont_sandbox.run builds them from the engine's own output."""
    from kwont_quant import BUILTINS, BacktestConfig, describe_strategy
    from kwont_quant.optimize import evaluate
    from kwont_quant.synthetic import gbm_ohlcv
    from kwont_quant.walkforward import walk_forward

    for cls in BUILTINS.values():
        check_result({"mode": "describe", "strategy": describe_strategy(cls)})
    candles, cls = gbm_ohlcv(2000, seed=3), BUILTINS["sma_cross"]
    config = BacktestConfig()
    evals = evaluate(cls, [{"fast": 5, "slow": 20}, {"fast": 8, "slow": 40}], candles, config)
    rows = [dict(e.to_dict(), index=i) for i, e in enumerate(evals)]
    check_result({"mode": "shard", "objective": "sharpe", "rankings": rows})
    grid = {"fast": [5, 8], "slow": [20, 40]}
    wf = walk_forward(cls, grid, candles, config, 2, 0.75, "sharpe")
    check_result({"mode": "walk_forward", "symbol": "X", "walk_forward": wf.to_dict()})


def test_guard_moments_and_monte_carlo_bands_are_checked() -> None:
    """Shard rows carry their block moments and a backtest its Monte Carlo bands, as
    kwont_sandbox.run writes them; malformed ones fail the job."""
    from kwont_quant import BacktestConfig, run_backtest
    from kwont_quant.montecarlo import monte_carlo_of
    from kwont_quant.optimize import evaluate
    from kwont_quant.synthetic import gbm_ohlcv

    candles = gbm_ohlcv(2000, seed=3)
    evals = evaluate("sma_cross", [{"fast": 5, "slow": 20}], candles, BacktestConfig())
    assert evals[0].moments is not None
    row = dict(evals[0].to_dict(), index=0, moments=evals[0].moments.tolist())
    check_result({"mode": "shard", "objective": "sharpe", "rankings": [row]})
    bad = dict(row, moments=[r[:4] for r in row["moments"]])
    assert reason({"mode": "shard", "objective": "sharpe", "rankings": [bad]}).startswith(
        "rankings[0].moments[0] list should have at least 5 items"
    )
    mc = monte_carlo_of(run_backtest("sma_cross", candles, params={"fast": 5, "slow": 20}))
    assert mc is not None
    check_result(line(monte_carlo=mc.to_dict()))
    broken = mc.to_dict()
    broken["bootstrap"]["max_drawdown_p95"] = 1.5
    assert reason(line(monte_carlo=broken)) == "monte_carlo.bootstrap.max_drawdown_p95 is above 1"
    broken["bootstrap"]["max_drawdown_p95"] = float("nan")
    assert reason(line(monte_carlo=broken)) == (
        "monte_carlo.bootstrap.max_drawdown_p95 is not finite"
    )


def test_a_result_line_may_hold_a_secret_only_if_it_shows_or_is_escaped() -> None:
    redact = Redactor.of_uris("mongodb://reader:hunter2@10.0.0.1:27017/")
    assert not redact.may_occur_in(b'{"type": "result", "trades": [{"symbol": "BTCUSDT"}]}')
    assert redact.may_occur_in(b'{"strategy": "x hunter2"}')
    # spelled with a JSON escape: not literally there, so the tree walk must run
    assert redact.may_occur_in(b'{"strategy": "hunter\\u0032"}')
