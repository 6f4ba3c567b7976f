"""The ground floor of venue ``binance`` (:mod:`kwont_execution.binance_venue` builds on it):
a claimed MARKET order is placed unless the exchange knows its client id already, waited for
until done, and its trades and status reported; and the calls every order makes: the
exchange's record of a claimed order, a refusal recorded and reported as REJECTED (anything
worth retrying raised as ``TransientError``), and every report stored, then published (the
new ones; all of them when re-sent).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from binance.exceptions import BinanceAPIException  # type: ignore[import-untyped]

from kwont_common.errors import TransientError
from kwont_common.events import Event
from kwont_common.trading.exchange import SymbolFilters
from kwont_execution import binance_claims as claims
from kwont_execution import binance_reports as reports
from kwont_execution.binance_client import (
    NETWORK_ERRORS,
    AuditedClient,
    BinanceVenueSettings,
    is_refusal,
    transient,
)

log = logging.getLogger(__name__)

Publish = Callable[[list[Event]], Awaitable[None]]
REPORTED: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar(
    "kwont_binance_reported", default=None
)
"""Where :meth:`BinanceMarket.emit` also puts what it stored, while
:meth:`kwont_execution.binance_venue.BinanceVenue.place` carries out an order (the
user-data stream's task runs outside it)."""
NO_SUCH_ORDER = (-2011, -2013)  # "Unknown order sent." / "Order does not exist."
MARGIN_KEPT = (-4046, -4047, -4048)  # already that type / open orders / open position


class BinanceMarket:
    """Places, settles and reports claimed MARKET orders on Binance USD-M futures (see the
    module docstring); :class:`kwont_execution.binance_venue.BinanceVenue` builds on it."""

    def __init__(self, client: AuditedClient, settings: BinanceVenueSettings, db: Any,
                 publish: Publish) -> None:  # fmt: skip
        self.client, self.settings, self.db, self.publish = client, settings, db, publish
        self._filters: dict[str, SymbolFilters] = {}
        self._margin_done: set[str] = set()
        # the REST answer and the user-data stream report the same orders from two tasks:
        # one stores and publishes at a time, so what goes out keeps the stored order (a
        # status never goes back) instead of a stored NEW published after a FILLED
        self._emitting = asyncio.Lock()

    # -- market orders ------------------------------------------------------------------

    async def _market(self, claim: dict[str, Any], fresh: bool,
                      leverage: int | None = None) -> dict[str, Any] | None:  # fmt: skip
        """The claimed MARKET order, placed unless the exchange has it already, settled and
        reported; None if Binance refused it."""
        if claim["status"] == "REJECTED":
            update = reports.order_update(claim, "REJECTED", reason=claim.get("reason"))
            await self.emit([update], republish=True)
            return None
        placed = None if fresh else await self.lookup(claim)
        if placed is None:
            try:
                if leverage is not None:
                    await self._prepare(claim["symbol"], leverage)
                reduce = {"reduceOnly": "true"} if claim["reduce_only"] else {}
                placed = await self.client.futures_create_order(
                    symbol=claim["symbol"], side=claim["side"], type="MARKET",
                    quantity=claim["quantity"], newClientOrderId=claim["_id"],
                    newOrderRespType="RESULT", **reduce,
                )  # fmt: skip
            except Exception as exc:
                await self._refused(claim, exc, "order")
                return None
        assert placed is not None
        placed = await self._settle(claim, placed)
        await self.report_market(claim, placed, republish=not fresh)
        return placed

    async def _settle(self, claim: dict[str, Any], placed: dict[str, Any]) -> dict[str, Any]:
        """Wait (polling) until the market order is done; futures may answer NEW first."""
        deadline = time.monotonic() + self.settings.fill_timeout_s
        while placed["status"] not in reports.FINAL:
            if time.monotonic() > deadline:
                raise TransientError(f"order {claim['_id']} not done after "
                                     f"{self.settings.fill_timeout_s}s")  # fmt: skip
            await asyncio.sleep(0.1)
            placed = await self.call(self.client.futures_get_order, symbol=claim["symbol"],
                                      orderId=placed["orderId"])  # fmt: skip
        return placed

    async def report_market(self, claim: dict[str, Any], placed: dict[str, Any],
                            republish: bool = False) -> None:  # fmt: skip
        """Publish a market order's trades and status (those not published before)."""
        events: list[Event] = []
        if Decimal(placed.get("executedQty") or 0) > 0:
            trades = await self.call(
                self.client.futures_account_trades, symbol=claim["symbol"],
                orderId=placed["orderId"],
            )  # fmt: skip
            events += [reports.from_trade(claim, t) for t in trades]
        events.append(reports.from_order(claim, placed))
        await claims.update(self.db, claim["_id"], status=placed["status"],
                            venue_order_id=str(placed["orderId"]))  # fmt: skip
        await self.emit(events, republish)

    async def _prepare(self, symbol: str, leverage: int) -> None:
        await self.client.futures_change_leverage(symbol=symbol, leverage=leverage)
        if symbol in self._margin_done:
            return
        try:
            await self.client.futures_change_margin_type(
                symbol=symbol, marginType=self.settings.margin_type
            )
        except BinanceAPIException as exc:
            if exc.code not in MARGIN_KEPT:
                raise
            if exc.code != -4046:
                log.warning("margin type of %s stays: %s", symbol, exc.message)
        self._margin_done.add(symbol)

    # -- helpers ------------------------------------------------------------------------

    async def lookup(self, claim: dict[str, Any]) -> dict[str, Any] | None:
        """The exchange's record of a claimed order, or None if it never got there."""
        key = "clientAlgoId" if claim["kind"] == "algo" else "origClientOrderId"
        try:
            found: dict[str, Any] = await self.client.futures_get_order(
                symbol=claim["symbol"], **{key: claim["_id"]}
            )
        except BinanceAPIException as exc:
            if exc.code in NO_SUCH_ORDER:
                return None
            raise transient(exc, "order lookup") from exc
        except NETWORK_ERRORS as exc:
            raise transient(exc, "order lookup") from exc
        return found

    async def call(self, method: Callable[..., Awaitable[Any]], **params: Any) -> Any:
        """Await ``method(**params)``; a Binance API or network error raises ``TransientError``."""
        try:
            return await method(**params)
        except (BinanceAPIException, *NETWORK_ERRORS) as exc:
            raise transient(exc, method.__name__) from exc

    async def _refused(self, claim: dict[str, Any], exc: BaseException, what: str,
                       publish: bool = True) -> None:  # fmt: skip
        """Record a refusal (and publish it as REJECTED), or raise a retryable error."""
        if not is_refusal(exc):
            if isinstance(exc, BinanceAPIException | NETWORK_ERRORS):
                raise transient(exc, what) from exc
            raise exc
        reason = f"{exc.code}: {exc.message}"  # type: ignore[attr-defined]
        log.warning("Binance refused %s %s: %s", what, claim["_id"], reason)
        if publish:
            await claims.update(self.db, claim["_id"], status="REJECTED", reason=reason)
            await self.emit([reports.order_update(claim, "REJECTED", reason=reason)], True)

    async def emit(self, events: list[Event], republish: bool = False) -> None:
        """Store ``events``; publish the new ones (all of them when ``republish``)."""
        async with self._emitting:
            fresh = await reports.record(self.db, events)
            sink = REPORTED.get()
            if sink is not None:
                sink.extend(events)
            out = events if republish else fresh
            if out:
                await self.publish(out)

    async def close(self) -> None:
        """Close the client's connection to Binance."""
        await self.client.close_connection()
