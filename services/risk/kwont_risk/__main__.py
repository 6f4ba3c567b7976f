"""``python -m kwont_risk``."""

from kwont_risk.main import run

run()
