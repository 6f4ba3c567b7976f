"""``python -m kwont_marketdata``."""

from kwont_marketdata.main import run

run()
