"""Fault drills: real processes and engines killed by their pid under traffic, restarted the
way an operator would, and the final state checked against an uninterrupted run.

The short set (marker ``drill``) runs in the default ``make test``; the long ones are also
marked ``drill_long`` and are deselected unless ``KWONT_DRILL=all`` (``make drill``). Each
drill records one :class:`~tests.drills.harness.DrillRecord`; the table of them is printed at
the end of the session (by tests/parallel.py, which also gathers them from xdist workers).
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the long drills unless ``KWONT_DRILL=all``."""
    if os.environ.get("KWONT_DRILL") == "all":
        return
    long = [i for i in items if i.get_closest_marker("drill_long")]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [i for i in items if not i.get_closest_marker("drill_long")]
