"""``python -m kwont_strategy``."""

from kwont_strategy.main import run

run()
