"""Has the paper venue's stop already closed the position? Predicted from stored candles.

A candle's close triggers both the paper venue's stop check of that candle and the
strategy's signal from it; they reach risk in either order. The backtest engine applies the
protective exit of bar *i* before the signal of bar *i* (which acts on bar *i+1*), so a
signal must be judged on the book after any stop fill of its candle or earlier ones.

Risk predicts it without asking execution: the position's entry order (``risk_orders``)
gives the stops and leverage, the book gives the fill price, and
``kwont_quant.live.protective_exit`` runs over the stored candles after the entry's candle
up to the signal's candle, as the paper venue does. If an exit fires, its fill is on its
way and the signal waits for it. Positions on other venues (Binance: the exchange owns the
stops) are not predicted.

Per account and symbol the levels of the open position and the last candle already found
quiet are cached, so while a position is open a signal costs one read of the new candles,
and that read is made beside the book's (:meth:`StopWatch.prefetch`: the candles up to the
signal's were stored before it was published, so they are all there when it arrives). The
entry orders this replica sent are remembered too (orders never change once stored), so a
position opened here needs no read of its entry order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import kwont_ohlcv as ohlcv
from kwont_common.events import Order
from kwont_common.mongo import Database
from kwont_common.trading import exchange, ids
from kwont_common.trading.exchange import NO_FILTERS, SymbolFilters
from kwont_common.trading.ledger import PositionBook
from kwont_quant.live import ExitReason, position_liquidation, protective_exit

CANDLES = "candles"
"""Candle buckets in the market-data database (kwont_marketdata.store)."""
ORDERS = "risk_orders"
PREDICTED_VENUES = ("paper",)
ENTRIES_KEPT = 10_000
"""Entry orders remembered (:meth:`StopWatch.remember`); older ones are read again."""


@dataclass(frozen=True)
class Levels:
    """The protective levels of an open position, as the paper venue set them."""

    side: int
    stop_loss: float | None
    take_profit: float | None
    liquidation: float
    interval: str
    entry_candle: int  # open time of the entry signal's candle: checks start after it


@dataclass(frozen=True)
class Bar:
    """One stored candle's open time and the prices an exit check needs."""

    open_time: int
    open: float
    high: float
    low: float


@dataclass(frozen=True)
class Exit:
    """A protective exit expected at candle ``open_time``."""

    open_time: int
    price: float
    reason: ExitReason


def levels(
    entry: Order,
    fill_price: float,
    maintenance_margin: float,
    tick: Decimal | None = None,
    tiers: bool = False,
) -> Levels | None:
    """The levels the paper venue gave the position opened by ``entry`` at ``fill_price``:
    :func:`kwont_common.trading.exchange.protective_levels` on the symbol's ``tick``;
    liquidation from the order's leverage (by the notional bracket with ``tiers``, as the
    account's ``margin_tiers``). None when the order does not say which candles
    to check."""
    if entry.interval is None or entry.candle_open_time is None:
        return None
    side = 1 if entry.side == "BUY" else -1
    sl, tp = exchange.protective_levels(
        side, exchange.to_decimal(fill_price), entry.stop_loss_pct, entry.take_profit_pct,
        entry.stop_loss, entry.take_profit, tick,
    )  # fmt: skip
    liq = position_liquidation(
        side, float(entry.quantity), fill_price, entry.leverage, maintenance_margin,
        entry.symbol, tiers,
    )  # fmt: skip
    return Levels(side, _float(sl), _float(tp), liq, entry.interval, entry.candle_open_time)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def first_exit(
    lv: Levels, bars: Iterable[Bar], slippage: float, after: int, through: int
) -> Exit | None:
    """The first protective exit among ``bars`` with open time in ``(after, through]`` (and
    after the entry's candle), checked one bar at a time in time order; None if none."""
    start = max(after, lv.entry_candle)
    for bar in sorted(bars, key=lambda b: b.open_time):
        if bar.open_time <= start or bar.open_time > through:
            continue
        hit = protective_exit(
            lv.side, bar.open, bar.high, bar.low, lv.stop_loss, lv.take_profit,
            lv.liquidation, slippage,
        )  # fmt: skip
        if hit is not None:
            return Exit(bar.open_time, hit[0], hit[1])
    return None


@dataclass(frozen=True)
class Prefetched:
    """The stored candles of a symbol and interval with open time in ``[start, through]``."""

    interval: str
    start: int
    through: int
    bars: list[Bar]


@dataclass
class _Watch:
    ident: tuple[Any, ...]
    levels: Levels | None
    checked: int  # open time of the last candle found quiet


def identity(position: PositionBook) -> tuple[Any, ...]:
    """What tells one open position from the next (a fill changes one of these)."""
    return (position.correlation_id, position.side, position.quantity, position.average_entry)


class StopWatch:
    """Predicts paper stop exits of open positions from the stored candles (cached)."""

    def __init__(
        self,
        db: Database,
        market_db: Database,
        filters: Callable[[str], Awaitable[SymbolFilters]] | None = None,
    ) -> None:
        self.db = db
        self.market_db = market_db
        self.filters = filters  # the symbol's tick rounds the levels as the venue does
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._entries: dict[str, Order] = {}  # client order id -> entry order sent here
        self._opened: dict[tuple[str, str], Order] = {}  # the last entry sent per pair

    def remember(self, entry: Order) -> None:
        """``entry`` was stored and sent by this replica: its position's levels need no read."""
        if entry.venue not in PREDICTED_VENUES or entry.reduce_only:
            return
        self._entries[entry.client_order_id] = entry
        self._opened[(entry.account, entry.symbol)] = entry
        while len(self._entries) > ENTRIES_KEPT:
            del self._entries[next(iter(self._entries))]

    async def prefetch(self, account: str, symbol: str, through: int) -> Prefetched | None:
        """The stored candles :meth:`expected_exit` will likely need for a signal on the
        candle at ``through``, read now (beside the book); None when nothing is known of
        the pair's position here."""
        key = (account, symbol)
        starts: list[tuple[int, str]] = []
        watch = self._watches.get(key)
        if watch is not None and watch.levels is not None:
            starts.append((watch.checked + 1, watch.levels.interval))
        entry = self._opened.get(key)
        if entry is not None and entry.interval and entry.candle_open_time is not None:
            starts.append((entry.candle_open_time + 1, entry.interval))
        if not starts:
            return None
        start, interval = min(starts)
        if any(i != interval for _, i in starts) or start > through:
            return None
        bars = await self._bars(symbol, interval, start, through + 1)
        return Prefetched(interval, start, through, bars)

    async def expected_exit(
        self,
        account: str,
        symbol: str,
        position: PositionBook,
        through: int,
        maintenance_margin: float,
        slippage: float,
        prefetched: Prefetched | None = None,
        tiers: bool = False,
    ) -> Exit | None:
        """The protective exit the paper venue makes on a candle up to ``through`` (open
        time) for ``position``, whose fill the book has not seen yet; None if none is due
        (or the position is not the paper venue's). ``prefetched``: candles read for this
        call by :meth:`prefetch`, used when they cover the range needed. ``tiers``: the
        account's ``margin_tiers`` (liquidation by notional bracket)."""
        key, ident = (account, symbol), identity(position)
        watch = self._watches.get(key)
        if watch is None or watch.ident != ident:
            lv = await self._levels(position, maintenance_margin, tiers)
            watch = _Watch(ident, lv, lv.entry_candle if lv else 0)
            self._watches[key] = watch
        lv = watch.levels
        if lv is None or through <= watch.checked:
            return None
        start = watch.checked + 1
        p = prefetched
        if (
            p is not None
            and p.interval == lv.interval
            and p.start <= start
            and p.through == through
        ):
            bars = p.bars  # first_exit skips those up to watch.checked
        else:
            bars = await self._bars(symbol, lv.interval, start, through + 1)
        hit = first_exit(lv, bars, slippage, watch.checked, through)
        if hit is None and bars:
            watch.checked = max(watch.checked, bars[-1].open_time)
        return hit

    async def _levels(self, position: PositionBook, mmr: float, tiers: bool) -> Levels | None:
        if position.correlation_id is None:
            return None
        try:
            coid = ids.client_order_id(uuid.UUID(position.correlation_id), "e")
        except ValueError:
            return None
        entry = self._entries.get(coid)
        if entry is None:
            doc = await self.db[ORDERS].find_one({"_id": coid}, {"order": 1})
            if doc is None:
                return None
            entry = Order.model_validate(doc["order"])
        if entry.venue not in PREDICTED_VENUES:
            return None
        filters = NO_FILTERS if self.filters is None else await self.filters(entry.symbol)
        return levels(entry, float(position.average_entry), mmr, filters.tick_size, tiers)

    async def _bars(self, symbol: str, interval: str, start: int, end: int) -> list[Bar]:
        """Stored candles with open time in ``[start, end)``."""
        docs = (
            await self.market_db[CANDLES]
            .find(ohlcv.range_filter(symbol, interval, start, end))
            .to_list(None)
        )
        cols = ohlcv.concat(docs, start, end)
        return [
            Bar(int(t), float(o), float(h), float(lo))
            for t, o, h, lo in zip(
                cols["open_time"], cols["open"], cols["high"], cols["low"], strict=True
            )
        ]
