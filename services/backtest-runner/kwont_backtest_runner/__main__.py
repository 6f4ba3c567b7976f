"""``python -m kwont_backtest_runner``."""

from kwont_backtest_runner.main import run

run()
