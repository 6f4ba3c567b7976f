"""``python -m kwont_portfolio``."""

from kwont_portfolio.main import run

run()
