"""Venue ``binance``: USD-M futures through python-binance.

An entry sets the symbol's leverage and margin type, places a MARKET order under the order's
client id, waits for its fill, then places reduce-only STOP_MARKET and TAKE_PROFIT_MARKET
conditional orders (ids ``ksl-`` / ``ktp-`` of the signal) at levels anchored at the average
fill price and rounded to the symbol's tick toward the fill (a long's stop up, its
take-profit down: :func:`kwont_common.trading.exchange.protective_levels`). A reduce-only
order is a MARKET close, after which the protective orders left are cancelled. When one
protective order fills (user-data stream, followed by ``binance_sync``, which also opens
the venue), its sibling is cancelled.

Exactly once: every order is claimed in ``binance_orders`` before any call; a second copy
asks the exchange for its client id and re-publishes what happened, and only an id the
exchange does not know is placed (python-binance sends the same id, which Binance refuses
to duplicate among open orders). Outcomes are published as ``OrderUpdate`` / ``Fill`` and
stored in ``orders`` / ``fills``; every REST exchange is in ``execution_audit``.

:meth:`BinanceVenue.place` keeps the venue contract (:mod:`kwont_execution.venue`): the
events an order led to, in order, already published.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binance.exceptions import BinanceAPIException  # type: ignore[import-untyped]

from kwont_common.events import Event, Order
from kwont_common.trading import exchange, ids
from kwont_common.trading.exchange import SymbolFilters
from kwont_execution import binance_claims as claims
from kwont_execution import binance_reports as reports
from kwont_execution.binance_client import NETWORK_ERRORS, audit_context, transient
from kwont_execution.binance_market import NO_SUCH_ORDER, REPORTED, BinanceMarket
from kwont_execution.venue import Report


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class BinanceVenue(BinanceMarket):
    """Places and follows orders on Binance USD-M futures (see the module docstring)."""

    # -- orders in ------------------------------------------------------------------------

    async def place(self, order: Order) -> Report:
        """:meth:`handle`, reported: what the order led to (published already; a copy
        reports the first's events again, under the same ids).

        Raises:
            TransientError: as :meth:`handle`.
        """
        sink: list[Event] = []
        token = REPORTED.set(sink)
        try:
            await self.handle(order)
        finally:
            REPORTED.reset(token)
        distinct = {e.event_id: e for e in reversed(sink)}  # the first copy's place
        return Report(tuple(e for e in sink if distinct.get(e.event_id) is e))

    async def handle(self, order: Order) -> None:
        """Carry out one approved order; publish what happened.

        Raises:
            TransientError: Binance or MongoDB failed in a way worth retrying; handling the
                same order again resumes where this attempt stopped.
        """
        with audit_context(order.account, order.client_order_id, order.correlation_id):
            if order.reduce_only:
                await self._exit(order)
            else:
                await self._entry(order)

    async def _entry(self, order: Order) -> None:
        doc = claims.new_claim(order, order.client_order_id, "e", "market", order.side,
                               order.quantity, reduce_only=False)  # fmt: skip
        fresh, claim = await claims.claim(self.db, doc)
        placed = await self._market(claim, fresh, leverage=order.leverage)
        if placed is None or placed["status"] != "FILLED":
            return
        side = 1 if order.side == "BUY" else -1
        stop, take = await self._levels(order, side, Decimal(placed["avgPrice"]))
        quantity, exit_side = Decimal(placed["executedQty"]), "SELL" if side == 1 else "BUY"
        for leg, kind, level in (("sl", "STOP_MARKET", stop), ("tp", "TAKE_PROFIT_MARKET", take)):
            if level is not None:
                await self._protect(order, leg, kind, exit_side, quantity, level)

    async def _exit(self, order: Order) -> None:
        doc = claims.new_claim(order, order.client_order_id, "x", "market", order.side,
                               order.quantity, reduce_only=True)  # fmt: skip
        fresh, claim = await claims.claim(self.db, doc)
        await self._market(claim, fresh)
        await self.cancel_protective(order.account, order.symbol)

    # -- protective orders --------------------------------------------------------------

    async def _levels(self, order: Order, side: int, fill_price: Decimal
                      ) -> tuple[Decimal | None, Decimal | None]:  # fmt: skip
        """Stop-loss and take-profit prices: anchored at the fill when given as fractions,
        else the order's absolute levels; on the symbol's tick by the rounding rule."""
        filters = await self.filters(order.symbol)
        return exchange.protective_levels(
            side, fill_price, order.stop_loss_pct, order.take_profit_pct, order.stop_loss,
            order.take_profit, filters.tick_size,
        )  # fmt: skip

    async def filters(self, symbol: str) -> SymbolFilters:
        """The symbol's filters: futures exchangeInfo (read once), else the ``symbols``
        collection (spot's, as marketdata stored them), else none.

        Raises:
            TransientError: Binance did not answer exchangeInfo.
        """
        if not self._filters:
            info = await self.call(self.client.futures_exchange_info)
            for s in info.get("symbols", []):
                self._filters[s["symbol"]] = SymbolFilters.from_binance(s.get("filters", []))
        if symbol in self._filters:
            return self._filters[symbol]
        doc = await self.db["symbols"].find_one({"_id": symbol}, {"filters": 1})
        return SymbolFilters.from_doc(doc)

    async def _protect(self, order: Order, leg: str, kind: str, side: str, quantity: Decimal,
                       level: Decimal) -> None:  # fmt: skip
        coid = ids.client_order_id(order.signal_id, leg)
        doc = claims.new_claim(order, coid, leg, "algo", side, quantity, reduce_only=True,
                               parent=order.client_order_id, order_type=kind)  # fmt: skip
        doc["trigger_price"] = _fmt(level)
        fresh, claim = await claims.claim(self.db, doc)
        with audit_context(order.account, coid, order.correlation_id):
            if claim["status"] == "REJECTED" or claim["kind"] == "market":
                await self._market(claim, fresh=False)
                return
            known = None if fresh else await self.lookup(claim)
            if known is None:
                try:  # python-binance sends these to POST /fapi/v1/algoOrder
                    known = await self.client.futures_create_order(
                        symbol=order.symbol, side=side, type=kind, quantity=claim["quantity"],
                        triggerPrice=claim["trigger_price"], reduceOnly="true", clientAlgoId=coid,
                    )  # fmt: skip
                except BinanceAPIException as exc:
                    if exc.code != -2021:  # anything but "Order would immediately trigger."
                        await self._refused(claim, exc, kind)
                        return
                    # The market is already through the level: close now, as the stop would.
                    claim["kind"] = "market"
                    await claims.update(self.db, coid, kind="market")
                    await self._market(claim, fresh=True)
                    return
                except NETWORK_ERRORS as exc:
                    raise transient(exc, kind) from exc
            assert known is not None
            await self.sync_algo(claim, known, republish=not fresh)

    async def sync_algo(self, claim: dict[str, Any], algo: dict[str, Any],
                        republish: bool = False) -> None:  # fmt: skip
        """Bring a conditional order's claim and events in line with the exchange's word."""
        status = algo.get("algoStatus", "")
        actual = str(algo.get("actualOrderId") or "")
        # Only an order fill settles a triggered stop; until then reconciliation looks at it.
        settled = status if status in reports.ALGO_STATUS else "TRIGGERED"
        await claims.update(self.db, claim["_id"], algo_id=str(algo["algoId"]),
                            actual_order_id=actual or None, status=settled)  # fmt: skip
        if actual and status in ("TRIGGERED", "FINISHED"):
            await self.triggered(claim, actual)
            return
        update = reports.from_algo(claim, algo, event_time=algo.get("updateTime"))
        if update is not None:
            await self.emit([update], republish)

    async def triggered(self, claim: dict[str, Any], order_id: str) -> None:
        """Report the matching-engine order a conditional order became; if it filled,
        cancel the sibling."""
        placed = await self.call(self.client.futures_get_order, symbol=claim["symbol"],
                                  orderId=order_id)  # fmt: skip
        await self.report_market(claim, placed)
        if placed["status"] == "FILLED":
            await self.cancel_sibling(claim)

    async def cancel_sibling(self, claim: dict[str, Any]) -> None:
        """Cancel the other protective leg of ``claim``'s signal if it is not known to be done."""
        coid = claims.sibling_of(claim)
        sibling = await claims.find(self.db, coid) if coid else None
        if sibling is not None and sibling["status"] not in claims.DONE:
            await self.cancel(sibling)

    async def cancel_protective(self, account: str, symbol: str) -> None:
        """Cancel the stop-loss / take-profit orders left on ``account:symbol``."""
        for doc in await claims.open_protective(self.db, account, symbol):
            if doc["kind"] == "algo":
                await self.cancel(doc)

    async def cancel(self, claim: dict[str, Any]) -> None:
        """Cancel ``claim``'s conditional order and publish it CANCELED.

        If Binance has no such order but knows how it ended, the claim follows the exchange
        instead. A refusal is only logged; any other API or network error raises
        ``TransientError``.
        """
        with audit_context(claim["account"], claim["_id"], claim["correlation_id"]):
            try:
                await self.client.futures_cancel_order(symbol=claim["symbol"],
                                                       clientAlgoId=claim["_id"])  # fmt: skip
            except BinanceAPIException as exc:
                if exc.code not in NO_SUCH_ORDER:
                    await self._refused(claim, exc, "cancel", publish=False)
                    return
                known = await self.lookup(claim)  # gone already: learn how it ended
                if known is not None:
                    await self.sync_algo(claim, known)
                    return
            except NETWORK_ERRORS as exc:
                raise transient(exc, "cancel") from exc
            await claims.update(self.db, claim["_id"], status="CANCELED")
            canceled = reports.order_update(claim, "CANCELED", venue_order_id=claim.get("algo_id"))
            await self.emit([canceled])
