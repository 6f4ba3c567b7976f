"""When a paper stop may act: only after every signal of the candles before it.

The backtest engine applies a signal at its candle's close and checks stops on the next
candles; the paper venue checks stops on the candle clock. If strategy or risk lags (a
restart, a replay that outruns them), a stop on candle ``k`` could act while a signal exit
of an earlier candle is still on its way, and the trade would differ from the engine's.
So before a stop, take-profit or liquidation of a position acts on candle ``k``:

1. the deployment that opened the position has evaluated the candle before ``k``
   (``strategy_progress``, written after its signals are stored), and
2. no stored signal of that deployment, after the entry's candle and before ``k``, closes
   the position (such a signal is on its way through risk; once its closing order is
   applied the position is gone and the stop has nothing to do).

A position without a stored entry signal (an order not made by the pipeline), or whose
deployment is no longer running, is never held. Nor is any held longer than ``wait_s``:
a pipeline down for good must not keep a protective stop from acting; it then acts, with
a warning. The stop consumer handles one candle at a time, so a held stop also delays the
stops of other symbols behind it (never their order, which the same rule keeps).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import kwont_ohlcv as ohlcv
from kwont_common.errors import TransientError
from kwont_execution.paper_position import Bar, Position
from kwont_quant.live import closes

log = logging.getLogger(__name__)

SIGNALS = "signals"
DEPLOYMENTS = "deployments"
PROGRESS = "strategy_progress"
"""Written by the strategy service (kwont_strategy.signals); read here."""


class StopHeld(TransientError):
    """A stop must wait for the signals before its candle (retried like any transient)."""


class StopGate:
    """Answers whether a position's protective exit may act on a candle now."""

    def __init__(self, db: Any, wait_s: float) -> None:
        self.db = db
        self.wait_s = wait_s
        self._since: dict[tuple[str, str, int], float] = {}

    async def check(self, position: Position, bar: Bar) -> None:
        """Return when the exit may act on ``bar``.

        Raises:
            StopHeld: a signal before ``bar`` may still close the position first.
        """
        why = await self._pending(position, bar)
        key = (position.account, position.symbol, bar.open_time)
        if why is None:
            self._since.pop(key, None)
            return
        now = time.monotonic()
        # holds whose position closed meanwhile are never checked again: forget them
        for old in [k for k, t in self._since.items() if now - t > 2 * self.wait_s + 60]:
            del self._since[old]
        first = self._since.setdefault(key, now)
        if now - first >= self.wait_s:
            self._since.pop(key, None)
            log.warning(
                "%s:%s stop on candle %d acts although %s (held %.0fs)",
                position.account, position.symbol, bar.open_time, why, self.wait_s,
                extra={"correlation_id": str(position.correlation_id)},
            )  # fmt: skip
            return
        where = f"{position.account}:{position.symbol} stop on candle {bar.open_time}"
        raise StopHeld(f"{where}: {why}")

    async def _pending(self, position: Position, bar: Bar) -> str | None:
        entry = await self.db[SIGNALS].find_one(
            {"_id": str(position.correlation_id)},
            {"deployment_id": 1, "symbol": 1, "interval": 1, "event_time": 1},
        )
        if entry is None:
            return None
        deployment = entry["deployment_id"]
        running = await self.db[DEPLOYMENTS].find_one(
            {"_id": deployment, "status": "running"}, {"_id": 1}
        )
        if running is None:  # stopped or deleted: no signal is coming
            return None
        step = ohlcv.INTERVAL_MS[position.interval]
        progress = await self.db[PROGRESS].find_one(
            {"_id": f"{deployment}:{position.symbol}:{position.interval}"}
        )
        before = bar.open_time - step
        if progress is None or int(progress["open_time"]) < before:
            return f"deployment {deployment} has not evaluated candle {before} yet"
        query = {
            "deployment_id": deployment,
            "symbol": position.symbol,
            "interval": position.interval,
            "event_time": {"$gt": int(entry["event_time"]), "$lt": bar.open_time},
        }
        async for doc in self.db[SIGNALS].find(query, {"action": 1, "exit_side": 1}):
            if closes(doc["action"], doc.get("exit_side"), position.side):
                return f"signal {doc['_id']} closes the position first"
        return None
