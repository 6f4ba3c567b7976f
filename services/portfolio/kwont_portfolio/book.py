"""Portfolios in memory per owned ``fills`` partition (docs/live-trading.md).

The accounts of the partitions this replica owns live in a
:class:`~kwont_common.state.PartitionStore` (collection ``portfolio_state``, one snapshot
document per partition with the fill offsets it reflects). A fill is booked by
:func:`~kwont_portfolio.decide.book_fill` under its input's offset; a mark revalues the
holders of its symbol, found in memory. Neither waits on the database (only an account's
settings and owner are read, cached for ``account_cache_s``). What the gateway reads, the
``portfolios`` documents (``_id`` = account: the latest snapshot's fields, ``ledger``,
``version``, ``seen``, ``marks``, ``symbols``, ``owner``, ``snapshot_time`` and the packed
equity curve), is written behind by :class:`~kwont_portfolio.writer.Writer`.

Marks are a newest-wins merge (a total order, see :mod:`kwont_portfolio.snapshot`), so they
change the accounts outside the offsets: after a restart the marks consumer reads back
``marks_lookback_s`` and the accounts end at the same marks whatever the order.
"""

from __future__ import annotations

import time
from typing import Any

from aiokafka import TopicPartition

from kwont_common.errors import InvalidMessage
from kwont_common.events import Fill, FundingPaid, PortfolioSnapshot
from kwont_common.kafka import current_input
from kwont_common.state import PartitionStore
from kwont_common.trading.accounts import AccountConfig, load_account, owner_of
from kwont_portfolio.decide import Plan, book_fill, book_funding, revalue
from kwont_portfolio.settings import PortfolioSettings
from kwont_portfolio.snapshot import Mark
from kwont_portfolio.state import Book, dump, load
from kwont_portfolio.writer import Writer

COLLECTION = "portfolios"
STATE = "portfolio_state"


class Accounts:
    """Account settings and owners, cached for ``ttl_s`` (an unknown owner is asked again)."""

    def __init__(self, db: Any, ttl_s: float) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._configs: dict[str, tuple[float, AccountConfig]] = {}
        self._owners: dict[str, tuple[float, str]] = {}

    async def config(self, account: str) -> AccountConfig:
        """The account's settings (defaults when it has none), from the cache while fresh."""
        hit = self._configs.get(account)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        config = await load_account(self.db, account)
        self._configs[account] = (time.monotonic(), config)
        return config

    async def owner(self, account: str) -> str | None:
        """The user the account belongs to, or None (a None is not cached)."""
        hit = self._owners.get(account)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        owner = await owner_of(self.db, account)
        if owner is not None:
            self._owners[account] = (time.monotonic(), owner)
        return owner


class Portfolios:
    """Books fills and marks into the in-memory accounts; queues their documents."""

    def __init__(self, db: Any, settings: PortfolioSettings) -> None:
        self.collection = db[COLLECTION]
        self.store: PartitionStore[Book] = PartitionStore(
            db[STATE], settings.group_id, new=Book, dump=dump, load=load,
            flush_every_s=settings.state_flush_s,
        )  # fmt: skip
        self.writer = Writer(
            self.collection,
            settings.equity_curve_max,
            int(settings.equity_curve_step_s * 1000),
            settings.documents_flush_s,
        )
        self.accounts = Accounts(db, settings.account_cache_s)
        self.interval_ms = int(settings.snapshot_interval_s * 1000)
        self.market: dict[str, Mark] = {}
        """The latest mark of every symbol seen here (all replicas read all market data)."""

    async def ensure_indexes(self) -> None:
        """Create the ``symbols`` index of the ``portfolios`` documents."""
        await self.collection.create_index("symbols", name="symbols")

    def _apply(self, plan: Plan) -> list[PortfolioSnapshot]:
        if plan.fields is not None:
            self.writer.queue(plan.account, plan.fields, plan.points)
        return plan.snapshots

    async def on_fill(self, fill: Fill) -> list[PortfolioSnapshot]:
        """Book ``fill`` once (in a handler of the fills consumer); the snapshot after it
        (none for a fill booked before).

        Raises:
            InvalidMessage: the fee is in another asset than the account's cash.
        """
        config = await self.accounts.config(fill.account)
        if fill.fee_asset != config.asset:
            raise InvalidMessage(
                f"fill {fill.trade_id}: fee in {fill.fee_asset}, account {fill.account} "
                f"keeps {config.asset}"
            )
        owner = await self.accounts.owner(fill.account)
        market = self.market.get(fill.symbol)

        def change(book: Book) -> Plan:
            cash, leverage, asset = config.cash, config.leverage, config.asset
            return book_fill(book, fill, cash, leverage, asset, owner, market, self.interval_ms)

        return self._apply(self.store.apply(*current_input(), change))

    async def on_funding(self, paid: FundingPaid) -> list[PortfolioSnapshot]:
        """Book the funding payment ``paid`` once (in a handler of the fills consumer:
        ``funding-payments`` is co-partitioned with ``fills``); the snapshot after it.

        Raises:
            InvalidMessage: the payment is in another asset than the account's cash.
        """
        config = await self.accounts.config(paid.account)
        if paid.asset != config.asset:
            raise InvalidMessage(
                f"funding payment {paid.payment_key()}: in {paid.asset}, account "
                f"{paid.account} keeps {config.asset}"
            )
        owner = await self.accounts.owner(paid.account)

        def change(book: Book) -> Plan:
            return book_funding(book, paid, config.cash, config.asset, owner)

        return self._apply(self.store.apply(*current_input(), change))

    def on_mark(self, symbol: str, mark: Mark) -> list[PortfolioSnapshot]:
        """Take ``mark`` as the symbol's price in every owned account holding it; the
        snapshots due (at most one per account per ``snapshot_interval_s`` of event time)."""
        if not mark.newer_than(self.market.get(symbol)):
            return []
        self.market[symbol] = mark
        out: list[PortfolioSnapshot] = []
        for p in sorted(self.store.owned):
            book = self.store.state(p)
            for account in sorted(book.holders.get(symbol, ())):
                out += self._apply(revalue(book, account, symbol, mark, self.interval_ms))
        return out

    # -- rebalance ----------------------------------------------------------------------

    async def assigned(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        """Load the snapshots, bring their accounts to the marks known here; the offsets to
        replay the fills from."""
        seeks = await self.store.assign(partitions)
        for p in sorted({tp.partition for tp in partitions}):
            book = self.store.state(p)
            for account in sorted(book.accounts):
                for symbol in sorted(book.accounts[account].ledger.positions):
                    if symbol in self.market:
                        mark = self.market[symbol]
                        self._apply(revalue(book, account, symbol, mark, self.interval_ms))
        return seeks

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Write the documents and snapshots of these partitions, then drop them."""
        numbers = {tp.partition for tp in partitions} & self.store.owned
        accounts = {a for p in numbers for a in self.store.state(p).accounts}
        try:
            await self.writer.flush(accounts)
        finally:
            await self.store.revoke(partitions)

    async def start(self) -> None:
        """Start the background writes of the state snapshots and the documents."""
        await self.store.start()
        await self.writer.start()

    async def stop(self) -> None:
        """Stop the background writes, each writing what is left one last time."""
        try:
            await self.writer.stop()
        finally:
            await self.store.stop()
