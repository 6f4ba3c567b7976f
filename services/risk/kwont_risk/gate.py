"""The signal handler: turn one signal into at most a closing order and an entry order, or a
rejection, exactly once.

For ``account:SYMBOL`` it first waits until no order of that pair is in flight, so the book
it judges with includes the previous trade's fills, and, when the stored candles up to the
signal's say the paper venue's stop-loss, take-profit or liquidation closed the open position
(:mod:`kwont_risk.stops`), until that fill is booked too. A signal that closes the open position
gets a reduce-only closing order (leg ``x``; exits always pass); the entry (leg ``e``) is
judged and sized on the cash after that order, as the backtest engine does. On the paper
venue that cash is known in advance (:func:`kwont_risk.orders.paper_fill`: the reference
price with slippage and the fee), so the entry is decided at once and both orders go out
together (one change of the in-memory book, published closing order first); the venue handles
an account's orders of one symbol in order, so the exit fills first. On other venues, and
when a re-delivered signal finds only its closing order decided, the entry waits until
the closing order completed and is sized on the booked cash.

Decide, then apply: the gate only reads and waits; the decision is one pure function over
the in-memory book (:func:`kwont_risk.plan.decide`) that returns a plan (orders to send,
a rejection, a kill switch to trip, what to publish again), and
:meth:`kwont_risk.decisions.Decisions.apply` is the one place that carries it out.
Decisions are recorded in the book before they are published; a re-delivered signal
re-publishes them and decides nothing new (nor waits: what it re-sends was decided). The
book is in memory (:mod:`kwont_risk.book`): no database round trip on this path except
the cached account settings and the candles the stop check reads.

When the paper venue fills the closing order at a tick newer than the signal's candle
(live feeds with ticks), its fill differs from the expected one by the price move since
the candle's close; the entry was sized on the expected fill. Replays from candles have
no such ticks and size exactly as the engine.
"""

from __future__ import annotations

import asyncio
import logging

from kwont_common.errors import TransientError
from kwont_common.events import Signal
from kwont_common.kafka import EventProducer
from kwont_common.trading.accounts import AccountConfig
from kwont_risk.accounts import Directory
from kwont_risk.book import Book
from kwont_risk.decisions import Decisions, decided
from kwont_risk.plan import Seen, decide, decide_entry
from kwont_risk.settings import RiskSettings
from kwont_risk.state import BookState
from kwont_risk.stops import Prefetched, StopWatch, identity

log = logging.getLogger(__name__)


class Gate:
    """Judges signals against the book and the account's limits."""

    def __init__(
        self,
        book: Book,
        directory: Directory,
        producer: EventProducer,
        settings: RiskSettings,
        stop: asyncio.Event,
        stops: StopWatch,
    ) -> None:
        self.book = book
        self.directory = directory
        self.producer = producer
        self.settings = settings
        self.stop = stop
        self.stops = stops
        self.decisions = Decisions(book, directory, producer, stops)

    async def _idle(self, signal: Signal, ignore_own: bool = False) -> BookState:
        return await self.book.wait_idle(
            signal.account, signal.symbol, self.stop, self.settings.in_flight_wait_s,
            self.settings.in_flight_poll_s, signal.event_id.hex if ignore_own else None,
        )  # fmt: skip

    async def on_signal(self, signal: Signal) -> None:
        """Handle one signal: read and wait, decide (:func:`kwont_risk.plan.decide`, pure),
        apply the plan (publishes its orders or rejection, in order).

        Raises:
            TransientError: an order of the pair stayed in flight too long, an expected stop
                fill did not come in time, or shutdown.
        """
        # what was decided for this signal before, and the candles the stop check will
        # likely need, are read while waiting for the book
        state, before, bars = await asyncio.gather(
            self._idle(signal, ignore_own=True),
            self.decisions.stored(signal),
            self.stops.prefetch(signal.account, signal.symbol, signal.candle_open_time),
        )
        seen = Seen(*decided(signal, state, *before))
        config = await self.directory.account(signal.account)
        filters = await self.directory.filters(signal.symbol)
        if seen.fresh:
            state = await self._stopped(signal, state, config, bars)
        made = decide(signal, state, config, filters, seen)
        await self.decisions.apply(signal, made)
        if made.settle is None:
            return
        # the closing order went out alone: the entry is decided on the cash after it
        state = await self._idle(signal)
        state = await self._settled(signal, state, made.settle)
        await self.decisions.apply(signal, decide_entry(signal, state, config, filters))

    async def _stopped(
        self,
        signal: Signal,
        state: BookState,
        config: AccountConfig,
        bars: Prefetched | None = None,
    ) -> BookState:
        """The book after the protective exit the paper venue makes on a candle up to the
        signal's, when the stored candles say one fires and its fill is not booked yet (the
        engine applies it before this signal). Waits like an order in flight.

        Raises:
            TransientError: the fill did not come within ``in_flight_wait_s``, or shutdown.
        """
        position = state.ledger.positions.get(signal.symbol)
        if position is None:
            return state
        hit = await self.stops.expected_exit(
            signal.account, signal.symbol, position, signal.candle_open_time,
            config.maintenance_margin, config.slippage_rate, bars, config.margin_tiers,
        )  # fmt: skip
        if hit is None:
            return state
        held = identity(position)
        log.info(
            "%s %s expected at candle %d (%s); waiting for its fill",
            signal.symbol, hit.reason, hit.open_time, hit.price,
            extra={"correlation_id": str(signal.correlation_id), "account": signal.account},
        )  # fmt: skip

        def changed(book: BookState) -> bool:
            now = book.ledger.positions.get(signal.symbol)
            return now is None or identity(now) != held

        wait = self.settings.in_flight_wait_s
        state, done = await self.book.wait_until(
            signal.account, changed, self.stop, wait, self.settings.in_flight_poll_s
        )
        if not done:
            raise TransientError(
                f"{signal.account}:{signal.symbol}: the {hit.reason} expected at candle "
                f"{hit.open_time} was not booked after {wait}s"
            )
        return state

    async def _settled(self, signal: Signal, state: BookState, side: int) -> BookState:
        """The book once the position of ``side`` is gone, when the closing order ended
        without closing it: a stop-loss or take-profit the venue filled first makes it
        refuse the reduce-only order, and its fill may not be booked yet. Gives up after
        ``exit_settle_s`` (the entry is then refused with ``position_open``)."""

        def closed(book: BookState) -> bool:
            position = book.ledger.positions.get(signal.symbol)
            return position is None or position.side != side

        if closed(state):
            return state
        state, _ = await self.book.wait_until(
            signal.account, closed, self.stop, self.settings.exit_settle_s,
            self.settings.in_flight_poll_s,
        )  # fmt: skip
        return state
