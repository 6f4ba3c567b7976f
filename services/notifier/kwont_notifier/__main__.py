"""``python -m kwont_notifier``."""

from kwont_notifier.main import run

run()
