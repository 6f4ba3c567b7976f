"""A local stand-in for Binance USD-M futures: REST and the user-data websocket, in Binance's
wire format, for the real python-binance client.

REST under ``/fapi``: ``v1/{ping,time,exchangeInfo,leverage,marginType,order,openOrders,
algoOrder,openAlgoOrders,userTrades,listenKey}``, ``v2/account``, ``v3/positionRisk``.
Conditional orders (STOP_MARKET, TAKE_PROFIT_MARKET, ...) live on ``/fapi/v1/algoOrder`` as on
the exchange since 2025-12-09 (``/fapi/v1/order`` refuses them with -4120), and python-binance
1.0.37 routes them there. Signed endpoints check the ``X-MBX-APIKEY`` header, the timestamp
and the HMAC-SHA256 of the query string and body. Errors are ``{"code": -NNNN, "msg": ...}``.

User data: ``/private/ws?listenKey=...`` (python-binance's futures user socket) pushes
``ORDER_TRADE_UPDATE``, ``ALGO_UPDATE`` and ``ACCOUNT_UPDATE``. MARKET orders fill at once at
``price[symbol]``; ``move(symbol, price)`` moves the price and triggers the conditional
orders it crosses, which then fill as market orders (a new matching-engine order whose id the
``ALGO_UPDATE`` names as ``ai``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

ALGO_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
PUBLIC = {"ping", "time", "exchangeInfo"}
KEY_ONLY = {"listenKey"}


def now_ms() -> int:
    return int(time.time() * 1000)


class Refused(Exception):
    """An error answer in Binance's format."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def futures_symbol(symbol: str, tick: str = "0.10", step: str = "0.001") -> dict[str, Any]:
    """One USD-M exchangeInfo ``symbols`` entry (the fields and filters clients read)."""
    return {
        "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL", "status": "TRADING",
        "baseAsset": symbol.removesuffix("USDT"), "quoteAsset": "USDT", "marginAsset": "USDT",
        "pricePrecision": 2, "quantityPrecision": 3, "orderTypes": ["LIMIT", "MARKET", "STOP",
        "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "4529764",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "1000", "stepSize": step},
            {"filterType": "MARKET_LOT_SIZE", "minQty": step, "maxQty": "120", "stepSize": step},
            {"filterType": "MIN_NOTIONAL", "notional": "5"},
        ],
    }  # fmt: skip


def _s(d: Decimal) -> str:
    return format(d.normalize(), "f") if d else "0"


@dataclass
class BinanceFutures:
    """The exchange's state; tests read and edit it between requests."""

    api_key: str = "test-key"
    api_secret: str = "test-secret"
    #: more accounts' key -> secret (one exchange, several keys); delete one to revoke it
    other_keys: dict[str, str] = field(default_factory=dict)
    #: (API key, method, path, params) of every request that carried a key
    keyed: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)
    price: dict[str, Decimal] = field(default_factory=lambda: {"BTCUSDT": Decimal("42000")})
    symbols: list[dict[str, Any]] = field(default_factory=lambda: [futures_symbol("BTCUSDT")])
    taker_fee: Decimal = Decimal("0.0004")
    balance: Decimal = Decimal("10000")
    leverage: dict[str, int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    algo_orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # amt, entry
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    listen_keys: set[str] = field(default_factory=set)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(8_389_765_000))

    # -- test helpers -------------------------------------------------------------------

    def placed(self, path: str = "/fapi/v1/order") -> list[dict[str, str]]:
        """Parameters of every POST to ``path`` (new orders), in order."""
        return [p for m, pth, p in self.requests if m == "POST" and pth == path]

    def open_algo(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return [
            a for a in self.algo_orders.values()
            if a["algoStatus"] == "NEW" and symbol in (None, a["symbol"])
        ]  # fmt: skip

    async def move(self, symbol: str, price: Decimal | str) -> None:
        """Move the price; conditional orders it crosses trigger and fill."""
        self.price[symbol] = Decimal(price)
        for algo in self.open_algo(symbol):
            if self._crossed(algo, self.price[symbol]):
                await self._trigger(algo)

    async def drop_streams(self) -> None:
        """Close every user-data websocket (as the exchange does every 24 h)."""
        for ws in list(self.sockets):
            await ws.close()

    # -- HTTP ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/fapi/{version}/{endpoint:.+}", self._dispatch)
        app.router.add_get("/private/ws", self._user_socket)
        app.router.add_get("/ws/{key}", self._user_socket)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        params = dict(request.query)
        if body:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        endpoint = request.match_info["endpoint"]
        self.requests.append((request.method, request.path, dict(params)))
        handler = getattr(self, f"_{request.method.lower()}_{endpoint.replace('/', '_')}", None)
        try:
            if handler is None:
                raise Refused(-1000, f"Unknown endpoint {request.method} {request.path}", 404)
            self._authorise(request, endpoint, params, body)
            return web.json_response(await handler(params))
        except Refused as exc:
            return web.json_response({"code": exc.code, "msg": exc.msg}, status=exc.status)

    def _authorise(self, request: web.Request, endpoint: str, params: dict[str, str],
                   body: str) -> None:  # fmt: skip
        if endpoint in PUBLIC:
            return
        key = request.headers.get("X-MBX-APIKEY") or ""
        secret = {**self.other_keys, self.api_key: self.api_secret}.get(key)
        if secret is None:
            raise Refused(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        self.keyed.append((key, request.method, request.path, dict(params)))
        if endpoint in KEY_ONLY:
            return
        signature = params.pop("signature", None)
        if signature is None or "timestamp" not in params:
            raise Refused(-1102, "Mandatory parameter 'signature' was not sent.")
        total = request.query_string + body
        payload = total.replace(f"&signature={signature}", "").replace(f"signature={signature}", "")
        good = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, signature):
            raise Refused(-1022, "Signature for this request is not valid.")
        window = int(params.get("recvWindow", 5000))
        if abs(now_ms() - int(params["timestamp"])) > window:
            raise Refused(-1021, "Timestamp for this request is outside of the recvWindow.")

    async def _get_ping(self, _: dict[str, str]) -> Any:
        return {}

    async def _get_time(self, _: dict[str, str]) -> Any:
        return {"serverTime": now_ms()}

    async def _get_exchangeInfo(self, _: dict[str, str]) -> Any:
        return {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": [],
                "exchangeFilters": [], "assets": [], "symbols": self.symbols}  # fmt: skip

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = params.get("symbol", "")
        if symbol not in self.price:
            raise Refused(-1121, "Invalid symbol.")
        return symbol

    def _tick(self, symbol: str) -> Decimal:
        info = next(s for s in self.symbols if s["symbol"] == symbol)
        return Decimal(next(f for f in info["filters"] if f["filterType"] == "PRICE_FILTER")
                       ["tickSize"])  # fmt: skip

    async def _post_leverage(self, params: dict[str, str]) -> Any:
        symbol, lev = self._symbol(params), int(params["leverage"])
        if not 1 <= lev <= 125:
            raise Refused(-4028, f"Leverage {lev} is not valid")
        self.leverage[symbol] = lev
        return {"leverage": lev, "maxNotionalValue": "1000000", "symbol": symbol}

    async def _post_marginType(self, params: dict[str, str]) -> Any:
        symbol, kind = self._symbol(params), params["marginType"]
        if self.margin_type.get(symbol, "CROSSED") == kind:
            raise Refused(-4046, "No need to change margin type.")
        self.margin_type[symbol] = kind
        return {"code": 200, "msg": "success"}

    async def _post_listenKey(self, _: dict[str, str]) -> Any:
        key = (
            next(iter(self.listen_keys), None) or hashlib.sha256(str(now_ms()).encode()).hexdigest()
        )
        self.listen_keys.add(key)
        return {"listenKey": key}

    async def _put_listenKey(self, params: dict[str, str]) -> Any:
        if params.get("listenKey") not in self.listen_keys:
            raise Refused(-1125, "This listenKey does not exist.")
        return {}

    async def _delete_listenKey(self, params: dict[str, str]) -> Any:
        self.listen_keys.discard(params.get("listenKey", ""))
        return {}

    # -- orders -------------------------------------------------------------------------

    async def _post_order(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        kind = params.get("type", "")
        if kind in ALGO_TYPES:
            raise Refused(-4120, "Order type not supported for this endpoint. Please use the "
                          "Algo Order API endpoints instead.")  # fmt: skip
        if kind != "MARKET":
            raise Refused(-1116, "Invalid orderType.")
        coid = params.get("newClientOrderId") or f"x-{next(self._ids)}"
        if any(o["clientOrderId"] == coid and o["status"] == "NEW" for o in self.orders.values()):
            raise Refused(-4116, "ClientOrderId is duplicated.")
        order = self._new_order(symbol, params["side"], Decimal(params["quantity"]), coid,
                                params.get("reduceOnly") == "true", "MARKET")  # fmt: skip
        await self._fill(order)
        shown = self._order_json(order)
        if params.get("newOrderRespType", "ACK") == "ACK":  # the exchange answers before matching
            shown.update(status="NEW", executedQty="0", cumQuote="0", avgPrice="0.00")
        return shown

    def _new_order(self, symbol: str, side: str, qty: Decimal, coid: str, reduce_only: bool,
                   orig_type: str) -> dict[str, Any]:  # fmt: skip
        amt = self.positions.get(symbol, (Decimal(0), Decimal(0)))[0]
        closing = (amt > 0 and side == "SELL") or (amt < 0 and side == "BUY")
        if reduce_only and (not closing or qty > abs(amt)):
            raise Refused(-2022, "ReduceOnly Order is rejected.")
        order: dict[str, Any] = {
            "orderId": next(self._ids), "symbol": symbol, "clientOrderId": coid, "side": side,
            "type": "MARKET", "origType": orig_type, "origQty": qty, "executedQty": Decimal(0),
            "cumQuote": Decimal(0), "avgPrice": Decimal(0), "status": "NEW",
            "reduceOnly": reduce_only, "time": now_ms(), "updateTime": now_ms(),
        }  # fmt: skip
        self.orders[order["orderId"]] = order
        return order

    async def _fill(self, order: dict[str, Any]) -> None:
        symbol, qty = order["symbol"], order["origQty"]
        price = self.price[symbol]
        await self._push_order(order, "NEW")
        fee = (price * qty * self.taker_fee).quantize(Decimal("0.00000001"))
        trade = {
            "buyer": order["side"] == "BUY", "commission": f"-{fee}", "commissionAsset": "USDT",
            "id": next(self._ids), "maker": False, "orderId": order["orderId"],
            "price": _s(price), "qty": _s(qty), "quoteQty": _s(price * qty),
            "realizedPnl": _s(self._book(symbol, order["side"], qty, price)),
            "side": order["side"], "positionSide": "BOTH", "symbol": symbol, "time": now_ms(),
        }  # fmt: skip
        self.trades.append(trade)
        self.balance -= fee
        order.update(status="FILLED", executedQty=qty, cumQuote=price * qty, avgPrice=price,
                     updateTime=now_ms())  # fmt: skip
        await self._push_order(order, "TRADE", trade, fee)
        amt, entry = self.positions.get(symbol, (Decimal(0), Decimal(0)))
        await self._push({
            "e": "ACCOUNT_UPDATE", "E": now_ms(), "T": now_ms(), "a": {"m": "ORDER",
            "B": [{"a": "USDT", "wb": _s(self.balance), "cw": _s(self.balance), "bc": "0"}],
            "P": [{"s": symbol, "pa": _s(amt), "ep": _s(entry), "bep": _s(entry), "cr": "0",
                   "up": "0", "mt": self.margin_type.get(symbol, "CROSSED").lower(),
                   "iw": "0", "ps": "BOTH"}]},
        })  # fmt: skip

    def _book(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> Decimal:
        amt, entry = self.positions.get(symbol, (Decimal(0), Decimal(0)))
        signed = qty if side == "BUY" else -qty
        if amt == 0 or (amt > 0) == (signed > 0):
            new = amt + signed
            self.positions[symbol] = (new, (entry * abs(amt) + price * qty) / abs(new))
            return Decimal(0)
        closed = min(qty, abs(amt))
        pnl = (price - entry) * closed * (1 if amt > 0 else -1)
        new = amt + signed
        self.positions[symbol] = (new, entry if new else Decimal(0))
        return pnl

    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        return {
            "orderId": o["orderId"], "symbol": o["symbol"], "status": o["status"],
            "clientOrderId": o["clientOrderId"], "price": "0", "avgPrice": _s(o["avgPrice"]),
            "origQty": _s(o["origQty"]), "executedQty": _s(o["executedQty"]),
            "cumQty": _s(o["executedQty"]), "cumQuote": _s(o["cumQuote"]),
            "timeInForce": "GTC", "type": o["type"], "reduceOnly": o["reduceOnly"],
            "closePosition": False, "side": o["side"], "positionSide": "BOTH", "stopPrice": "0",
            "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": o["origType"],
            "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
            "time": o["time"], "updateTime": o["updateTime"],
        }  # fmt: skip

    def _find_order(self, params: dict[str, str]) -> dict[str, Any]:
        symbol = self._symbol(params)
        for o in self.orders.values():
            if o["symbol"] == symbol and (
                str(o["orderId"]) == params.get("orderId")
                or o["clientOrderId"] == params.get("origClientOrderId")
            ):
                return o
        raise Refused(-2013, "Order does not exist.")

    async def _get_order(self, params: dict[str, str]) -> Any:
        return self._order_json(self._find_order(params))

    async def _delete_order(self, params: dict[str, str]) -> Any:
        try:
            order = self._find_order(params)
        except Refused:
            raise Refused(-2011, "Unknown order sent.") from None
        if order["status"] != "NEW":
            raise Refused(-2011, "Unknown order sent.")
        order["status"] = "CANCELED"
        return self._order_json(order)

    async def _get_openOrders(self, params: dict[str, str]) -> Any:
        symbol = params.get("symbol")
        return [self._order_json(o) for o in self.orders.values()
                if o["status"] == "NEW" and symbol in (None, o["symbol"])]  # fmt: skip

    async def _get_userTrades(self, params: dict[str, str]) -> Any:
        symbol = self._symbol(params)
        return [t for t in self.trades if t["symbol"] == symbol
                and params.get("orderId") in (None, str(t["orderId"]))]  # fmt: skip

    async def _get_positionRisk(self, params: dict[str, str]) -> Any:
        rows = []
        for symbol, (amt, entry) in self.positions.items():
            if amt == 0 or params.get("symbol") not in (None, symbol):
                continue
            mark = self.price[symbol]
            rows.append({
                "symbol": symbol, "positionSide": "BOTH", "positionAmt": _s(amt),
                "entryPrice": _s(entry), "breakEvenPrice": _s(entry), "markPrice": _s(mark),
                "unRealizedProfit": _s((mark - entry) * amt), "liquidationPrice": "0",
                "isolatedMargin": "0", "notional": _s(mark * amt), "marginAsset": "USDT",
                "isolatedWallet": "0", "initialMargin": "0", "maintMargin": "0",
                "positionInitialMargin": "0", "openOrderInitialMargin": "0", "adl": 0,
                "bidNotional": "0", "askNotional": "0", "updateTime": now_ms(),
            })  # fmt: skip
        return rows

    async def _get_account(self, params: dict[str, str]) -> Any:
        positions = await self._get_positionRisk(params)
        return {"totalWalletBalance": _s(self.balance), "availableBalance": _s(self.balance),
                "assets": [{"asset": "USDT", "walletBalance": _s(self.balance)}],
                "positions": positions}  # fmt: skip

    # -- conditional (algo) orders ------------------------------------------------------

    async def _post_algoOrder(self, params: dict[str, str]) -> Any:
        symbol, kind = self._symbol(params), params.get("type", "")
        if params.get("algoType") != "CONDITIONAL" or kind not in ALGO_TYPES:
            raise Refused(-1116, "Invalid orderType.")
        caid = params.get("clientAlgoId") or f"x-{next(self._ids)}"
        if any(a["clientAlgoId"] == caid for a in self.open_algo()):
            raise Refused(-4116, "ClientOrderId is duplicated.")
        trigger = Decimal(params["triggerPrice"])
        if trigger % self._tick(symbol):
            raise Refused(-4014, "Price not increased by tick size.")
        algo: dict[str, Any] = {
            "algoId": next(self._ids), "clientAlgoId": caid, "algoType": "CONDITIONAL",
            "orderType": kind, "symbol": symbol, "side": params["side"], "positionSide": "BOTH",
            "timeInForce": "GTC", "quantity": params.get("quantity", "0"), "algoStatus": "NEW",
            "triggerPrice": params["triggerPrice"], "price": "0", "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE", "closePosition": False, "priceProtect": False,
            "reduceOnly": params.get("reduceOnly") == "true", "activatePrice": "",
            "callbackRate": "", "createTime": now_ms(), "updateTime": now_ms(),
            "triggerTime": 0, "goodTillDate": 0, "actualOrderId": "", "actualPrice": "",
        }  # fmt: skip
        if self._crossed(algo, self.price[symbol]):
            raise Refused(-2021, "Order would immediately trigger.")
        self.algo_orders[algo["algoId"]] = algo
        await self._push_algo(algo)
        return dict(algo)

    @staticmethod
    def _crossed(algo: dict[str, Any], price: Decimal) -> bool:
        trigger, sell = Decimal(algo["triggerPrice"]), algo["side"] == "SELL"
        if algo["orderType"].startswith("STOP"):
            return price <= trigger if sell else price >= trigger
        return price >= trigger if sell else price <= trigger

    def _find_algo(self, params: dict[str, str]) -> dict[str, Any]:
        for a in self.algo_orders.values():
            if str(a["algoId"]) == params.get("algoId") or a["clientAlgoId"] == params.get(
                "clientAlgoId"
            ):
                return a
        raise Refused(-2013, "Order does not exist.")

    async def _get_algoOrder(self, params: dict[str, str]) -> Any:
        return dict(self._find_algo(params))

    async def _delete_algoOrder(self, params: dict[str, str]) -> Any:
        try:
            algo = self._find_algo(params)
        except Refused:
            raise Refused(-2011, "Unknown order sent.") from None
        if algo["algoStatus"] != "NEW":
            raise Refused(-2011, "Unknown order sent.")
        algo.update(algoStatus="CANCELED", updateTime=now_ms())
        await self._push_algo(algo)
        return {"algoId": algo["algoId"], "clientAlgoId": algo["clientAlgoId"],
                "code": "200", "msg": "success"}  # fmt: skip

    async def _get_openAlgoOrders(self, params: dict[str, str]) -> Any:
        return [dict(a) for a in self.open_algo(params.get("symbol"))]

    async def _trigger(self, algo: dict[str, Any]) -> None:
        algo.update(algoStatus="TRIGGERING", triggerTime=now_ms())
        await self._push_algo(algo)
        try:
            order = self._new_order(algo["symbol"], algo["side"], Decimal(algo["quantity"]),
                                    f"autoalgo_{algo['algoId']}", algo["reduceOnly"],
                                    algo["orderType"])  # fmt: skip
        except Refused as exc:
            algo.update(algoStatus="REJECTED", rm=exc.msg)
            await self._push_algo(algo)
            return
        algo.update(algoStatus="TRIGGERED", actualOrderId=str(order["orderId"]))
        await self._push_algo(algo)
        await self._fill(order)
        algo.update(algoStatus="FINISHED", actualPrice=_s(order["avgPrice"]))
        await self._push_algo(algo, order)

    # -- user-data stream ---------------------------------------------------------------

    async def _user_socket(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("key") or request.query.get("listenKey")
        if key not in self.listen_keys:
            raise web.HTTPBadRequest(text='{"code": -1125, "msg": "Invalid listenKey."}')
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self.sockets.append(ws)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        finally:
            self.sockets.remove(ws)
        return ws

    async def _push(self, event: dict[str, Any]) -> None:
        text = json.dumps(event)
        for ws in list(self.sockets):
            if not ws.closed:
                await ws.send_str(text)
        await asyncio.sleep(0)

    async def _push_order(self, o: dict[str, Any], execution: str,
                          trade: dict[str, Any] | None = None,
                          fee: Decimal = Decimal(0)) -> None:  # fmt: skip
        t = trade or {}
        await self._push({"e": "ORDER_TRADE_UPDATE", "E": now_ms(), "T": now_ms(), "o": {
            "s": o["symbol"], "c": o["clientOrderId"], "S": o["side"], "o": o["type"],
            "f": "GTC", "q": _s(o["origQty"]), "p": "0", "ap": _s(o["avgPrice"]), "sp": "0",
            "x": execution, "X": o["status"], "i": o["orderId"], "l": t.get("qty", "0"),
            "z": _s(o["executedQty"]), "L": t.get("price", "0"), "N": "USDT", "n": _s(fee),
            "T": o["updateTime"], "t": t.get("id", 0), "b": "0", "a": "0", "m": False,
            "R": o["reduceOnly"], "wt": "CONTRACT_PRICE", "ot": o["origType"], "ps": "BOTH",
            "cp": False, "rp": t.get("realizedPnl", "0"), "pP": False, "si": 0, "ss": 0,
            "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0, "er": "0",
        }})  # fmt: skip

    async def _push_algo(self, a: dict[str, Any], order: dict[str, Any] | None = None) -> None:
        o = order or {}
        await self._push({"e": "ALGO_UPDATE", "T": now_ms(), "E": now_ms(), "o": {
            "caid": a["clientAlgoId"], "aid": a["algoId"], "at": "CONDITIONAL",
            "o": a["orderType"], "s": a["symbol"], "S": a["side"], "ps": "BOTH", "f": "GTC",
            "q": a["quantity"], "X": a["algoStatus"], "ai": a["actualOrderId"],
            "ap": _s(o.get("avgPrice", Decimal(0))), "aq": _s(o.get("executedQty", Decimal(0))),
            "act": o.get("type", "0"), "tp": a["triggerPrice"], "p": "0", "V": "EXPIRE_MAKER",
            "wt": "CONTRACT_PRICE", "pm": "NONE", "cp": False, "pP": False, "R": a["reduceOnly"],
            "tt": a["triggerTime"], "gtd": 0, "rm": a.get("rm", ""),
        }})  # fmt: skip
