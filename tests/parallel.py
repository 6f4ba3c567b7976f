"""How the suite runs on pytest-xdist workers (``make test``: ``-n 2 --dist loadgroup``).

- Every test module is one xdist group (its module fixtures are set up once, on one worker);
  the modules that start the whole platform share the group ``stack``, so two full stacks
  never run at once.
- The slowest groups are collected first (``SLOW_FIRST``) so both workers finish together;
  ``make test`` passes ``--no-loadscope-reorder`` so xdist keeps this order.
- tests/conftest.py's ``build_lock`` serialises a session build (sandbox image, web
  dashboard) that both workers may start: the second waits, then finds it up to date.
- Summaries printed at session end (the drill table here, the engine start-up line in
  kwont_devstack.pytest_plugin) are gathered from the workers by the controller.

The same hooks are harmless in a serial run (``TEST_WORKERS=0`` or plain ``pytest``).
"""

from __future__ import annotations

from typing import Any

import pytest

STACK_GROUP = "stack"
# Modules (or folders, ending in "/") that start the whole platform: one group, one at a time.
STACK_MODULES = (
    "tests/e2e/",
    "tests/tools/devstack/test_devstack_stack.py",
    "tests/tools/devstack/test_devstack_two_stacks.py",
)
# Groups handed out first, slowest first (measured with --durations on two workers; the
# rest follow in collection order). Keep it short: only groups that take minutes.
SLOW_FIRST = (
    STACK_GROUP,
    "tests/drills/test_broker_restart.py",
    "tests/drills/test_runner_kill.py",
    "tests/drills/test_sandbox_kill.py",
    "tests/services/backtest_runner/test_sandbox_hostile.py",
    "tests/services/backtest_runner/test_runner_service.py",
)


def group_of(item: pytest.Item) -> str:
    """The xdist group of ``item``: ``stack`` or the path of its module."""
    module = item.nodeid.split("::", 1)[0]
    if any(module == m or (m.endswith("/") and module.startswith(m)) for m in STACK_MODULES):
        return STACK_GROUP
    return module


@pytest.hookimpl(tryfirst=True)  # before xdist's worker hook turns the marks into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each item with its group and put the ``SLOW_FIRST`` groups first."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda it: (rank.get(group_of(it), len(rank)), order[id(it)]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand the drill records to the controller (printed there)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from dataclasses import asdict

        from tests.drills.harness import RECORDS

        workeroutput["kwont_drill_records"] = [asdict(r) for r in RECORDS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: collect the drill records a worker ran."""
    from tests.drills.harness import RECORDS, DrillRecord

    for data in getattr(node, "workeroutput", {}).get("kwont_drill_records", []):
        RECORDS.append(DrillRecord(**data))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The drill table (time to healthy, final-state check), serial or gathered from workers."""
    from tests.drills.harness import RECORDS, table

    if RECORDS and not hasattr(config, "workerinput"):
        for line in table(RECORDS):
            terminalreporter.write_line(line)
