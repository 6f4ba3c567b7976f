"""Where every live source sends its data: candles stored, then published; ticks published;
funding rows stored, then published to ``funding`` (keyed ``SYMBOL``).

A candle is upserted into ``ohlcv.candles`` before it goes to ``candles`` (keyed
``SYMBOL:interval``), so a consumer that sees it can always read it back from the store.
Event ids are derived from what the event is (feed, symbol, interval, open time; or the
venue trade id), so a candle or tick published twice (a restart, a back-fill overlapping the
stream) carries the same id and consumers drop the copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from prometheus_client import Counter

import kwont_ohlcv as ohlcv
from kwont_common.events import Candle, FundingRate, Tick
from kwont_common.events.fields import Feed
from kwont_common.kafka import EventProducer
from kwont_common.mongo import Database
from kwont_common.trading.ids import event_id
from kwont_marketdata import funding_store, store
from kwont_marketdata.aggregate import Bar, next_open

PUBLISHED = Counter(
    "kwont_marketdata_published_total",
    "Candles and ticks published by the marketdata service, by feed.",
    ["feed", "kind"],
)


def candle(bar: Bar, feed: str, source: str = "marketdata") -> Candle:
    """The ``candles`` event of a closed bar, with its deterministic id.

    Raises:
        pydantic.ValidationError: inconsistent prices (high below low, ...).
    """
    return Candle(
        event_id=event_id("candle", feed, bar.symbol, bar.interval, bar.open_time),
        event_time=bar.close_time, source=source, symbol=bar.symbol, interval=bar.interval,
        open_time=bar.open_time, close_time=bar.close_time, open=bar.open, high=bar.high,
        low=bar.low, close=bar.close, volume=bar.volume, quote_volume=bar.quote_volume,
        trades=bar.trades, feed=feed,
    )  # fmt: skip


def bars(symbol: str, interval: str, columns: ohlcv.Columns) -> list[Bar]:
    """Bars of stored (or CSV) candle columns."""
    rows = zip(*(columns[c].tolist() for c in ohlcv.COLUMNS), strict=True)
    return [
        Bar(symbol, interval, int(t), next_open(interval, int(t)) - 1, o, h, lo, c, v, qv, int(n))
        for t, o, h, lo, c, v, qv, n in rows
    ]


def columns(candles: Sequence[Candle]) -> ohlcv.Columns:
    """Store columns of candles of one symbol and interval (sorted by open time)."""
    return {c: np.array([getattr(k, c) for k in candles], dtype=np.float64) for c in ohlcv.COLUMNS}


class Outlet:
    """Stores and publishes for one service process."""

    def __init__(self, producer: EventProducer, db: Database) -> None:
        self.producer = producer
        self.db = db

    async def candle(self, event: Candle, *, stored: bool = False) -> None:
        """Upsert ``event`` into the store (unless ``stored``), then publish it.

        Raises:
            pymongo.errors.PyMongoError: the store refused (nothing published).
            aiokafka.errors.KafkaError: the broker refused (the candle stays stored).
        """
        if not stored:
            await store.upsert(self.db, event.symbol, event.interval, columns([event]),
                               feed=event.feed)  # fmt: skip
        await self.producer.publish(event)
        PUBLISHED.labels(event.feed, "candle").inc()

    async def tick(self, event: Tick) -> None:
        """Publish a trade to ``ticks``."""
        await self.producer.publish(event)
        PUBLISHED.labels(event.feed, "tick").inc()

    async def funding(self, symbol: str, time_ms: int, rate: float, mark: float, feed: Feed,
                      source: str = "marketdata") -> FundingRate:  # fmt: skip
        """Store one funding row in ``ohlcv.funding`` (idempotent), then publish it to
        ``funding`` under an id derived from (feed, symbol, funding time).

        Raises:
            ValueError: ``mark`` is not above zero or ``rate`` not finite (nothing stored).
            pymongo.errors.PyMongoError: the store refused (nothing published).
            aiokafka.errors.KafkaError: the broker refused (the row stays stored).
        """
        event = FundingRate(
            event_id=event_id("funding", feed, symbol, time_ms),
            event_time=time_ms,
            source=source,
            symbol=symbol,
            funding_time=time_ms,
            rate=rate,
            mark_price=mark,
            feed=feed,
        )
        cols = ohlcv.funding.columns([time_ms], [rate], [mark])
        await funding_store.write_funding(self.db, symbol, cols, feed)
        await self.producer.publish(event)
        PUBLISHED.labels(feed, "funding").inc()
        return event
