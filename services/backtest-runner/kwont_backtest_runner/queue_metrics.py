"""Prometheus metrics of the fair job queue, per user.

Label cardinality: a ``user`` label per user would grow without bound, so only the first
``MAX_USER_LABELS`` distinct users this process sees get their own label (user ids, never
names); everyone after them is counted under ``user="other"``. A user's depth series is
removed when their queue empties, so the gauge holds at most the users with jobs in hand.
Set the bound with :func:`limit_users` (setting ``KWONT_QUEUE_METRICS_MAX_USERS``).
"""

from __future__ import annotations

import contextlib

from prometheus_client import Gauge, Histogram

OTHER = "other"
MAX_USER_LABELS = 50

QUEUE_DEPTH = Gauge(
    "kwont_backtest_queue_depth",
    "Jobs in hand waiting for a run slot, per user (see docs/sandbox.md: label bound).",
    ["user"],
)
QUEUE_WAIT = Histogram(
    "kwont_backtest_queue_wait_seconds",
    "Time from a job reaching the runner's queue to its start, per user.",
    ["user"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
RUNNING = Gauge("kwont_backtest_jobs_running", "Jobs holding a run slot on this replica.")

_labelled: set[str] = set()
_depth: dict[str, int] = {}


def limit_users(count: int) -> None:
    """How many distinct users get their own label (the rest are ``other``)."""
    global MAX_USER_LABELS
    MAX_USER_LABELS = count


def label(owner: str) -> str:
    """The ``user`` label of ``owner``: its id while under the bound, else ``other``."""
    if owner in _labelled:
        return owner
    if len(_labelled) < MAX_USER_LABELS:
        _labelled.add(owner)
        return owner
    return OTHER


def waiting(owner: str, depth: int) -> None:
    """``owner`` now has ``depth`` jobs waiting."""
    name = label(owner)
    if name == OTHER:  # the depth of "other" is the sum over its users
        _depth[owner] = depth
        QUEUE_DEPTH.labels(OTHER).set(sum(v for k, v in _depth.items() if k not in _labelled))
        if depth == 0:
            _depth.pop(owner, None)
    elif depth:
        QUEUE_DEPTH.labels(name).set(depth)
    else:
        with contextlib.suppress(KeyError):
            QUEUE_DEPTH.remove(name)


def running(count: int) -> None:
    """``count`` jobs hold a run slot on this replica."""
    RUNNING.set(count)


def started(owner: str, depth: int, waited_s: float) -> None:
    """A job of ``owner`` got a slot after ``waited_s`` seconds; ``depth`` still wait."""
    waiting(owner, depth)
    QUEUE_WAIT.labels(label(owner)).observe(waited_s)
