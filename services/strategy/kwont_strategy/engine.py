"""The candle handler: one closed candle in, at most one signal per deployment out.

Per candle: the cached deployments on its (symbol, interval), the rolling window from
memory, ``latest_signal`` and ``kwont_quant.live.intent`` per deployment (the engine's
reading of the bar), then one ``signals`` write per signal, and the candle marked as
evaluated (``strategy_progress``, written behind). A strategy that raises is recorded on
its deployment (``last_error``) and counted; the other deployments go on.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Counter

from kwont_common.events import Candle, Signal
from kwont_common.mongo import Database
from kwont_quant import Candles, seam
from kwont_quant.live import intent
from kwont_strategy import signals
from kwont_strategy.deployments import Deployment, Registry
from kwont_strategy.windows import Windows

log = logging.getLogger(__name__)

SIGNALS = Counter("kwont_strategy_signals_total", "Signals emitted.", ["service", "action"])
STRATEGY_ERRORS = Counter(
    "kwont_strategy_errors_total",
    "Candles on which a deployment's strategy code failed (the deployment carries last_error).",
    ["service"],
)


class SignalEngine:
    """Turns candles into signals for the cached running deployments."""

    def __init__(
        self,
        registry: Registry,
        windows: Windows,
        db: Database,
        source: str,
        progress: signals.Progress | None = None,
    ) -> None:
        self.registry = registry
        self.windows = windows
        self.db = db
        self.source = source
        self.progress = progress

    async def on_candle(self, candle: Candle) -> list[Signal]:
        """Handler of ``candles``: the signals to publish (already stored).

        Raises:
            pymongo.errors.PyMongoError: reading the window or storing a signal failed
                (the consumer retries; ids are deterministic, so a retry repeats nothing).
        """
        deps = [d for d in self.registry.on(candle.symbol, candle.interval) if d.strategy]
        if not deps:
            return []
        window = await self.windows.window(candle, max(d.need for d in deps))
        out = [s for d in deps if (s := await self._evaluate(d, candle, window)) is not None]
        owners = {d.id: d.owner for d in deps}
        stored = await asyncio.gather(
            *(signals.record(self.db, s, owners[s.deployment_id]) for s in out)
        )
        for s in stored:
            SIGNALS.labels(self.source, s.action).inc()
        if self.progress is not None:
            self.progress.mark([d.id for d in deps], candle)
        return list(stored)

    async def _evaluate(self, dep: Deployment, candle: Candle, window: Candles) -> Signal | None:
        assert dep.strategy is not None
        try:
            bar = seam.latest_signal(dep.strategy, window)
        except Exception as exc:  # StrategyError from the seam, or anything it let through
            STRATEGY_ERRORS.labels(self.source).inc()
            message = f"{type(exc).__name__}: {exc}"
            log.warning(
                "deployment %s failed on %s %s@%d: %s",
                dep.id, candle.symbol, candle.interval, candle.open_time, message,
                extra={"deployment": dep.id},
            )  # fmt: skip
            await self.registry.mark_error(dep.id, message)
            return None
        if bar is None:
            return None
        wanted = intent(bar, allow_short=not dep.long_only)
        if wanted is None:
            return None
        return signals.build(dep, candle, bar, wanted, self.source)
