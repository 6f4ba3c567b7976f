"""``python -m kwont_execution``."""

from kwont_execution.main import run

run()
