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
together (one in-flight write, stored, published closing order first); the venue handles
an account's orders of one symbol in order, so the exit fills first. On other venues, and
when a re-delivered signal finds only its closing order decided, the entry waits until
the closing order completed and is sized on the booked cash. Decisions are stored before
they are published (``risk_orders``, ``risk_rejections``); a re-delivered signal
re-publishes them and decides nothing new (nor waits: what it re-sends was decided).

When the paper venue fills the closing order at a tick newer than the signal's candle
(live feeds with ticks), its fill differs from the expected one by the price move since
the candle's close; the entry was sized on the expected fill. Replays from candles have
no such ticks and size exactly as the engine.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymongo import UpdateOne

from kwont_common.errors import TransientError
from kwont_common.events import Order, RiskRejection, Signal
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from kwont_common.trading import ids
from kwont_common.trading.accounts import AccountConfig
from kwont_quant.live import closes, opens
from kwont_risk import orders, rules, sizing
from kwont_risk.accounts import Directory
from kwont_risk.book import Book
from kwont_risk.metrics import DECISIONS
from kwont_risk.settings import RiskSettings
from kwont_risk.state import BookState
from kwont_risk.stops import Prefetched, StopWatch, identity

log = logging.getLogger(__name__)

ORDERS = "risk_orders"
REJECTIONS = "risk_rejections"


class Gate:
    """Judges signals against the book and the account's limits."""

    def __init__(
        self,
        db: Database,
        book: Book,
        directory: Directory,
        producer: EventProducer,
        settings: RiskSettings,
        stop: asyncio.Event,
        stops: StopWatch,
    ) -> None:
        self.db = db
        self.book = book
        self.directory = directory
        self.producer = producer
        self.settings = settings
        self.stop = stop
        self.stops = stops

    async def _idle(self, signal: Signal, ignore_own: bool = False) -> BookState:
        return await self.book.wait_idle(
            signal.account, signal.symbol, self.stop, self.settings.in_flight_wait_s,
            self.settings.in_flight_poll_s, signal.event_id.hex if ignore_own else None,
        )  # fmt: skip

    async def on_signal(self, signal: Signal) -> None:
        """Handle one signal (publishes its orders or rejection itself, in order).

        Raises:
            TransientError: an order of the pair stayed in flight too long, an expected stop
                fill did not come in time, or shutdown.
        """
        # what was decided for this signal before, and the candles the stop check will
        # likely need, are read while waiting for the book
        state, before, bars = await asyncio.gather(
            self._idle(signal, ignore_own=True),
            self._stored(signal),
            self.stops.prefetch(signal.account, signal.symbol, signal.candle_open_time),
        )
        made, rejected = self._decided(signal, state, *before)
        config = await self.directory.account(signal.account)
        closing = made.get("x")
        fresh = not made and rejected is None
        if fresh:
            state = await self._stopped(signal, state, config, bars)
        position = state.ledger.positions.get(signal.symbol)
        if fresh and position and closes(signal.action, signal.exit_side, position.side):
            lev = config.leverage
            closing = orders.closing_order(signal, position.side, position.quantity, lev)
            DECISIONS.labels("approved", "exit").inc()
        side = opens(signal.action)
        ahead: Order | None = None  # a closing order that goes out together with the entry
        if closing is not None:
            expected = None
            if signal.venue == "paper":
                filters = await self.directory.filters(signal.symbol)
                expected = orders.paper_fill(closing, config, filters)
            if fresh and side != 0 and expected is not None:
                ahead, state = closing, state.after_expected(expected, config.leverage)
            else:
                await self._send(closing)
            if ahead is None and "e" not in made and rejected is None:
                # the entry (if any) is still to be decided, on the cash after the exit
                state = await self._idle(signal)
                state = await self._settled(signal, state, -1 if closing.side == "BUY" else 1)
        if "e" in made:
            await self._send(made["e"])
            return
        if rejected is not None:
            await self.producer.publish(rejected)
            return
        if side == 0:
            return
        position = state.ledger.positions.get(signal.symbol)
        if position is not None:
            if ahead is not None:  # not reached: the projected exit closed the position
                await self._send(ahead)
            held = "long" if position.side == 1 else "short"
            if position.side == side:
                await self._reject(signal, "already_in_position", f"a {held} position is open")
            else:
                await self._reject(
                    signal, "position_open", f"the {held} position was not closed; no entry"
                )
            return
        await self._enter(signal, side, state, config, ahead)

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
            config.maintenance_margin, config.slippage_rate, bars,
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

    async def _enter(
        self,
        signal: Signal,
        side: int,
        state: BookState,
        config: AccountConfig,
        ahead: Order | None = None,
    ) -> None:
        """Judge and size the entry on ``state``; ``ahead``, a closing order not sent yet,
        goes out first (with the entry, or alone before the rejection)."""
        filters = await self.directory.filters(signal.symbol)
        equity, day_start, peak = state.levels(signal.event_time)
        cash = float(state.equity_without(signal.symbol))
        quantity = sizing.quantity(
            sizing.raw_quantity(config, signal, side, cash, filters), filters.step_size
        )
        price = sizing.fill_price(config, side, signal.reference_price, filters)
        others = sum(1 for s in state.ledger.positions if s != signal.symbol)
        entry = rules.Entry(
            symbol=signal.symbol, time=signal.event_time, quantity=quantity, price=price,
            equity=equity, day_start_equity=day_start, peak_equity=peak,
            open_positions=others + state.in_flight_entries(signal.symbol),
            kill_switch=state.kill_switch, last_entry=state.last_entry.get(signal.symbol),
        )  # fmt: skip
        refusal = rules.judge_entry(entry, config, filters)
        if refusal is not None:
            if ahead is not None:
                await self._send(ahead)
            if refusal.code in rules.TRIPS:
                await self.book.trip(signal.account, refusal, signal.event_time)
            await self._reject(signal, refusal.code, refusal.reason)
            return
        order = orders.entry_order(signal, side, quantity, config.leverage, filters)
        DECISIONS.labels("approved", "entry").inc()
        await self._send(*([] if ahead is None else [ahead]), order)

    async def _stored(self, signal: Signal) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The stored orders and rejection of ``signal`` (a re-delivery's)."""
        stored, doc = await asyncio.gather(
            self.db[ORDERS].find({"_id": {"$in": _leg_ids(signal)}}).to_list(None),
            self.db[REJECTIONS].find_one({"_id": str(orders.rejection_id(signal))}),
        )
        return stored, doc

    def _decided(
        self,
        signal: Signal,
        state: BookState,
        stored: list[dict[str, Any]],
        doc: dict[str, Any] | None,
    ) -> tuple[dict[str, Order], RiskRejection | None]:
        """What was decided for this signal before (a re-delivery): stored orders by leg,
        orders in flight that a crash kept from being stored, and a stored rejection."""
        made: dict[str, Order] = {}
        coids = _leg_ids(signal)
        for found in stored:
            made[found["leg"]] = Order.model_validate(found["order"])
        for coid, record in (state.in_flight.get(signal.symbol) or {}).items():
            if coid in coids and record.get("leg") not in made:
                made[record["leg"]] = Order.model_validate(record["order"])
        if doc is None:
            return made, None
        return made, orders.rejection(signal, doc["code"], doc["reason"])

    async def _send(self, *batch: Order) -> None:
        """In flight (the batch in one write) and stored, then published in order. Each
        step is idempotent and a re-delivered signal repeats both writes (it finds its
        orders by either), so the two writes go at once. The batch is stored by one ordered
        bulk write, so a crash can leave the closing order stored without the entry (the
        re-delivery then waits for it and decides the entry again) but never the entry
        without its closing order. A batch is one signal's orders."""
        owner = await self.directory.owner(batch[0].account)

        def doc(order: Order) -> dict[str, Any]:
            return {
                "order": order.model_dump(mode="json"), "account": order.account,
                "leg": order.client_order_id[1 : order.client_order_id.index("-")],
                "symbol": order.symbol, "signal_id": str(order.signal_id),
                "correlation_id": str(order.correlation_id), "event_time": order.event_time,
                "owner": owner,
            }  # fmt: skip

        stored = [
            UpdateOne({"_id": order.client_order_id}, {"$setOnInsert": doc(order)}, upsert=True)
            for order in batch
        ]
        await asyncio.gather(
            self.book.put_in_flight(*batch), self.db[ORDERS].bulk_write(stored, ordered=True)
        )
        for order in batch:
            self.stops.remember(order)
        for order in batch:
            await self.producer.publish(order)
            log.info(
                "order %s %s %s %s", order.client_order_id, order.side, order.quantity,
                order.symbol,
                extra={"correlation_id": str(order.correlation_id), "account": order.account},
            )  # fmt: skip

    async def _reject(self, signal: Signal, code: str, reason: str) -> None:
        """Store the rejection (for the API, with the account's owner), then publish it."""
        event = orders.rejection(signal, code, reason)
        DECISIONS.labels("rejected", code).inc()
        doc = {
            "account": signal.account, "symbol": signal.symbol, "code": code, "reason": reason,
            "signal_id": str(signal.event_id), "correlation_id": str(signal.correlation_id),
            "deployment_id": signal.deployment_id, "event_time": signal.event_time,
            "owner": await self.directory.owner(signal.account),
        }  # fmt: skip
        await self.db[REJECTIONS].update_one(
            {"_id": str(event.event_id)}, {"$setOnInsert": doc}, upsert=True
        )
        await self.producer.publish(event)
        log.info(
            "rejected %s %s: %s", signal.symbol, code, reason,
            extra={"correlation_id": str(signal.correlation_id), "account": signal.account},
        )  # fmt: skip


def _leg_ids(signal: Signal) -> list[str]:
    """Client order ids of the signal's closing (``x``) and entry (``e``) orders."""
    return [ids.client_order_id(signal.event_id, leg) for leg in ("x", "e")]
