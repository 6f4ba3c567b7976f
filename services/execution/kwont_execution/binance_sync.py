"""Keeping the Binance venue in step with the exchange: the user-data stream
(``ORDER_TRADE_UPDATE``, ``ALGO_UPDATE``, ``ACCOUNT_UPDATE``) and a REST reconciliation run
at start and after every (re)connection of the stream, which catches whatever happened while
nobody listened (a stop that fired during a restart is reported and its sibling cancelled).

A triggered conditional order becomes a new matching-engine order with its own id (``ai`` of
the ``ALGO_UPDATE``, ``actualOrderId`` over REST); its trades are tied back to the stop-loss
or take-profit claim through that id.

:func:`open_binance_venue` connects and reconciles; :func:`follow` is then its task. This
module stands above ``binance_venue`` (it drives the venue; the venue never calls it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from binance.ws.constants import WSListenerState  # type: ignore[import-untyped]
from pymongo import ReplaceOne

from kwont_execution import binance_claims as claims
from kwont_execution import binance_reports as reports
from kwont_execution.binance_client import (
    AUDIT,
    BinanceVenueSettings,
    audit_context,
    connect,
    socket_manager,
)
from kwont_execution.binance_market import Publish
from kwont_execution.binance_venue import BinanceVenue

log = logging.getLogger(__name__)

POSITIONS = "binance_positions"
OPEN_ORDERS = "binance_open_orders"
BACKOFF_MAX_S = 30.0
RECV_TIMEOUT_S = 1.0  # python-binance's read loop wait; bounds how long closing takes
RECONNECT_WAIT_S = 120.0  # python-binance retries 5 times, waiting up to 1+2+4+8+16 s


async def open_binance_venue(settings: Any, db: Any, publish: Publish) -> BinanceVenue:
    """Connect to Binance, reconcile open orders and positions, and return the venue (a
    task then follows its user-data stream: :func:`follow`).

    Raises:
        TransientError: Binance did not answer.
    """
    config = BinanceVenueSettings.of(settings)
    client = await connect(config, db[AUDIT])
    venue = BinanceVenue(client, config, db, publish)
    try:
        await reconcile(venue)
    except BaseException:
        await venue.close()
        raise
    return venue


async def reconcile(venue: BinanceVenue) -> None:
    """Record open orders and positions, and settle every claim not known to be done.

    Raises:
        TransientError: Binance did not answer.
    """
    client, db = venue.client, venue.db
    with audit_context(None, None):
        orders = await venue.call(client.futures_get_open_orders)
        algos = await venue.call(client.futures_get_open_orders, conditional=True)
        positions = await venue.call(client.futures_position_information)
    now = datetime.now(UTC)
    rows = [{"_id": f"order:{o['orderId']}", "kind": "order", **o, "seen_at": now} for o in orders]
    rows += [{"_id": f"algo:{a['algoId']}", "kind": "algo", **a, "seen_at": now} for a in algos]
    # replaced row by row, then the rest removed: a reader never sees the table empty while
    # orders are open (a delete-all first left it empty for a moment on every reconnect)
    if rows:
        await db[OPEN_ORDERS].bulk_write(
            [ReplaceOne({"_id": r["_id"]}, r, upsert=True) for r in rows]
        )
    await db[OPEN_ORDERS].delete_many({"_id": {"$nin": [r["_id"] for r in rows]}})
    held = [p for p in positions if float(p.get("positionAmt") or 0) != 0]
    for p in held:
        await db[POSITIONS].replace_one({"_id": p["symbol"]}, {
            "symbol": p["symbol"], "amount": p["positionAmt"], "entry_price": p["entryPrice"],
            "mark_price": p.get("markPrice"), "updated_at": now, "source": "reconcile",
        }, upsert=True)  # fmt: skip
    await db[POSITIONS].delete_many({"_id": {"$nin": [p["symbol"] for p in held]}})
    open_algos = {a["clientAlgoId"]: a for a in algos}
    for claim in await claims.unsettled(db):
        with audit_context(claim["account"], claim["_id"], claim["correlation_id"]):
            if claim["kind"] == "algo" and claim["_id"] in open_algos:
                await venue.sync_algo(claim, open_algos[claim["_id"]])
                continue
            known = await venue.lookup(claim)
            if known is None:
                continue  # never reached the exchange; its order's redelivery places it
            if claim["kind"] == "algo":
                await venue.sync_algo(claim, known)
            else:
                await venue.report_market(claim, known)
    log.info("reconciled: %d open orders, %d conditional, %d positions",
             len(orders), len(algos), len(held))  # fmt: skip


async def on_event(venue: BinanceVenue, msg: dict[str, Any]) -> None:
    """Handle one user-data event."""
    kind = msg.get("e")
    if kind == "ORDER_TRADE_UPDATE":
        await _order_event(venue, msg)
    elif kind == "ALGO_UPDATE":
        await _algo_event(venue, msg)
    elif kind == "ACCOUNT_UPDATE":
        for p in msg.get("a", {}).get("P", []):
            await venue.db[POSITIONS].replace_one({"_id": p["s"]}, {
                "symbol": p["s"], "amount": p["pa"], "entry_price": p["ep"],
                "margin_type": p.get("mt"), "updated_at": datetime.now(UTC), "source": "stream",
            }, upsert=True)  # fmt: skip


async def _order_event(venue: BinanceVenue, msg: dict[str, Any]) -> None:
    o = msg["o"]
    claim = await claims.find(venue.db, o["c"]) or await claims.by_venue_order(
        venue.db, o["s"], o["i"]
    )
    if claim is None:
        claim = await _triggered_claim(venue, o["s"], str(o["i"]))
    if claim is None:
        log.info("order %s (%s) is not ours", o["i"], o["c"])
        return
    with audit_context(claim["account"], claim["_id"], claim["correlation_id"]):
        await venue.emit(reports.from_stream(claim, msg))
        if o["X"] in reports.FINAL:
            await claims.update(venue.db, claim["_id"], status=o["X"])
        if o["X"] == "FILLED" and claim["leg"] in ("sl", "tp"):
            await venue.cancel_sibling(claim)


async def _triggered_claim(venue: BinanceVenue, symbol: str, order_id: str
                           ) -> dict[str, Any] | None:  # fmt: skip
    """The protective claim whose conditional order became ``order_id``, asked over REST
    (the stream's ``ALGO_UPDATE`` naming it may come later or have been missed)."""
    for claim in await claims.unsettled(venue.db):
        if claim["kind"] != "algo" or claim["symbol"] != symbol:
            continue
        with audit_context(claim["account"], claim["_id"], claim["correlation_id"]):
            known = await venue.lookup(claim)
        if known is not None and str(known.get("actualOrderId") or "") == order_id:
            await claims.update(venue.db, claim["_id"], actual_order_id=order_id)
            return claim
    return None


async def _algo_event(venue: BinanceVenue, msg: dict[str, Any]) -> None:
    a = msg["o"]
    claim = await claims.find(venue.db, a["caid"])
    if claim is None:
        return
    fields: dict[str, Any] = {"algo_id": str(a["aid"])}
    # Only an order fill settles a triggered stop; until then reconciliation looks at it.
    fields["status"] = a["X"] if a["X"] in reports.ALGO_STATUS else "TRIGGERED"
    if a.get("ai"):
        fields["actual_order_id"] = str(a["ai"])
    await claims.update(venue.db, claim["_id"], **fields)
    update = reports.from_algo(claim, a, event_time=int(msg["E"]))
    if update is not None:
        await venue.emit([update])


async def follow(venue: BinanceVenue, stop: asyncio.Event) -> None:
    """Follow the user-data stream until ``stop``: listen key from ``POST listenKey``, kept
    alive by python-binance's timer; after every (re)connection, reconcile. Any failure
    (closed socket, expired key, a handler error) rebuilds the connection after a backoff."""
    backoff = 1.0
    while not stop.is_set():
        try:
            socket = socket_manager(venue.settings, venue.client).futures_user_socket()
            socket.TIMEOUT = RECV_TIMEOUT_S
            async with socket:
                await reconcile(venue)
                backoff = 1.0
                while not stop.is_set():
                    msg = await _next(socket, stop)
                    if msg is None:
                        return
                    if msg.get("e") == "error":  # python-binance reconnects by itself
                        log.warning("user-data stream: %s", msg)
                        await _streaming_again(socket, stop)
                        await reconcile(venue)
                        continue
                    if msg.get("e") == "listenKeyExpired":
                        log.warning("user-data stream: listen key expired; reconnecting")
                        break
                    await on_event(venue, msg)
        except Exception:
            log.exception("user-data stream failed; reconnecting in %.0fs", backoff)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=backoff)
        backoff = min(backoff * 2, BACKOFF_MAX_S)


async def _streaming_again(socket: Any, stop: asyncio.Event) -> None:
    """Wait for python-binance's own reconnection after a dropped connection.

    Raises:
        ConnectionError: it gave up (its read loop ended) or took too long.
    """
    deadline = asyncio.get_running_loop().time() + RECONNECT_WAIT_S
    while socket.ws_state != WSListenerState.STREAMING and not stop.is_set():
        if not socket._handle_read_loop or asyncio.get_running_loop().time() > deadline:
            raise ConnectionError("user-data stream did not reconnect")
        await asyncio.sleep(0.1)


async def _next(socket: Any, stop: asyncio.Event) -> dict[str, Any] | None:
    """The next stream message, or None once ``stop`` is set."""
    receive = asyncio.ensure_future(socket.recv())
    stopped = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({receive, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if receive in done:
        stopped.cancel()
        result: dict[str, Any] = receive.result()
        return result
    receive.cancel()
    return None
