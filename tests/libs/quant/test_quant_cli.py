"""The ``kwont`` command line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kwont_quant import BacktestConfig, read_funding_csv, run_backtest
from kwont_quant.cli import main
from kwont_quant.data import read_csv
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.unit


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    c = gbm_ohlcv(3000, seed=21)
    rows = np.column_stack([c.open_time_ms, c.open, c.high, c.low, c.close, c.volume])
    path = tmp_path / "BTCUSDT.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [",".join([str(int(r[0])), *(repr(float(x)) for x in r[1:])]) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_backtest_json_document(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--param",
            "fast=5",
            "--param",
            "slow=20",
            "--data",
            str(csv_path),
            "--cash",
            "5000",
            "--fee-bps",
            "5",
            "--slippage-bps",
            "1",
            "--long-only",
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"metrics", "trades", "final_equity"}
    trade = doc["trades"][0]
    assert set(trade) >= {
        "side",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "qty",
        "fees",
        "pnl",
        "exit_reason",
    }
    assert trade["entry_time"].endswith("Z") and trade["side"] == "long"
    cfg = BacktestConfig(cash=5000, fee_bps=5, slippage_bps=1, long_only=True)
    same = run_backtest("sma_cross", read_csv(csv_path), cfg, {"fast": 5, "slow": 20})
    assert doc["final_equity"] == same.final_equity
    assert doc["metrics"]["n_trades"] == same.metrics.n_trades


def test_backtest_text_summary(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "rsi_reversion", "--data", str(csv_path)]) == 0
    out = capsys.readouterr()
    assert "final equity" in out.out and "Sharpe" in out.out and "trades" in out.out
    assert "[####" in out.err  # progress bar


def test_optimize_and_walk_forward(csv_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "optimize",
                "--strategy",
                "sma_cross",
                "--grid",
                "fast=5:15:5",
                "--grid",
                "slow=20:40:20",
                "--data",
                str(csv_path),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["evaluations"]) == 6 and doc["objective"] == "sharpe"
    assert (
        main(
            [
                "optimize",
                "--strategy",
                "sma_cross",
                "--grid",
                "fast=5:15:5",
                "--grid",
                "slow=20:40:20",
                "--data",
                str(csv_path),
                "--walk-forward",
                "3",
                "--objective",
                "total_return",
            ]
        )
        == 0
    )
    assert "out-of-sample" in capsys.readouterr().out


def test_bad_inputs_exit_2_with_a_message(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = csv_path.read_text().splitlines()
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join(lines[:10] + lines[11:]) + "\n")
    assert main(["backtest", "--strategy", "sma_cross", "--data", str(gap)]) == 2
    assert "line 11: gap in the data" in capsys.readouterr().err
    assert (
        main(
            ["backtest", "--strategy", "sma_cross", "--param", "fast=999", "--data", str(csv_path)]
        )
        == 2
    )
    assert "outside its range" in capsys.readouterr().err
    empty = tmp_path / "nothing.py"
    empty.write_text("VALUE = 1\n")
    assert main(["backtest", "--strategy", str(empty), "--data", str(csv_path)]) == 2
    assert "defines no strategy class" in capsys.readouterr().err


def test_strategy_crash_exits_1_with_traceback(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "crash.py"
    user.write_text(
        "from kwont_quant import Strategy\n"
        "class Crash(Strategy):\n"
        "    def generate(self, candles):\n"
        "        raise RuntimeError('boom')\n"
    )
    assert main(["backtest", "--strategy", str(user), "--data", str(csv_path), "--json"]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "Traceback" in err


def test_multi_symbol_run(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "ETHUSDT.csv"
    other.write_text(csv_path.read_text())
    assert (
        main(
            [
                "backtest",
                "--strategy",
                "sma_cross",
                "--data",
                str(csv_path),
                "--data",
                str(other),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    a, b = doc["symbols"]["BTCUSDT"], doc["symbols"]["ETHUSDT"]
    assert a["final_equity"] == b["final_equity"]  # same data, equal cash shares
    assert doc["final_equity"] == pytest.approx(a["final_equity"] + b["final_equity"])
    assert len(doc["trades"]) == len(a["trades"]) + len(b["trades"])


def test_console_script_is_installed() -> None:
    exe = shutil.which("kwont") or str(Path(__file__).parents[3] / ".venv/bin/kwont")
    out = subprocess.run(
        [exe, "strategies", "--json"], capture_output=True, text=True, check=True, timeout=60
    )
    names = [d["name"] for d in json.loads(out.stdout)]
    assert names == [
        "sma_cross",
        "ema_cross",
        "rsi_reversion",
        "bollinger_breakout",
        "macd_cross",
        "donchian_breakout",
    ]


def test_backtest_and_optimize_carry_the_overfitting_figures(
    csv_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--strategy", "sma_cross", "--data", str(csv_path)]
    assert main(["backtest", *args, "--param", "fast=5", "--param", "slow=20", "--json"]) == 0
    mc = json.loads(capsys.readouterr().out)["monte_carlo"]
    assert mc["paths"] == 1000 and mc["seed"] == 0 and mc["trades"] > 0
    lo, mid, hi = (mc["bootstrap"][f"final_equity_p{p}"] for p in (5, 50, 95))
    assert lo <= mid <= hi
    assert main(["backtest", *args, "--mc-paths", "200", "--mc-seed", "9"]) == 0
    out = capsys.readouterr().out
    assert "Monte Carlo of" in out and "200 paths (seed 9)" in out and "bootstrap" in out
    grid = ["--grid", "fast=5:15:5", "--grid", "slow=20:40:20"]
    assert main(["optimize", *args, *grid, "--json"]) == 0
    guards = json.loads(capsys.readouterr().out)["guards"]
    assert guards["n_trials"] == 6 and set(guards) >= {"psr", "dsr", "pbo"}
    assert main(["optimize", *args, *grid]) == 0
    assert "PSR" in capsys.readouterr().out


def test_funding_file_and_synthetic(
    csv_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = read_csv(csv_path)  # 3000 minutes from 2024-01-01T00:00Z: funding at 00:00 and 08:00
    rates = tmp_path / "BTCUSDT-fundingRate-2024-01.csv"
    rates.write_text(
        "calc_time,funding_interval_hours,last_funding_rate\n"
        "1704067200000,8,0.00050000\n1704096000008,8,-0.00100000\n"
    )
    base = ["backtest", "--strategy", "sma_cross", "--data", str(csv_path), "--mc-paths", "0"]
    assert main([*base, "--funding", str(rates), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = run_backtest("sma_cross", c, BacktestConfig(), funding=read_funding_csv(rates))
    assert doc["metrics"]["funding_paid"] == want.metrics.funding_paid != 0.0
    assert sum(t["funding"] for t in doc["trades"]) == pytest.approx(want.metrics.funding_paid)
    assert main([*base, "--funding", "synthetic"]) == 0
    out = capsys.readouterr().out
    assert "funding paid" in out and "(synthetic; pnl is net of it)" in out
    assert main([*base]) == 0
    assert "funding paid" not in capsys.readouterr().out
    assert main([*base, "--funding", str(tmp_path / "nope.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
