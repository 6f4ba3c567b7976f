"""``python -m kwont_gateway``."""

from kwont_gateway.main import run

run()
