"""Test data for the gateway: users, candles, symbols, results, and the running server."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

import kwont_ohlcv as ohlcv
from kwont_gateway.settings import GatewaySettings

JAN_2024 = 1_704_067_200_000
HOUR = 3_600_000
_FIELDS = ("symbol", "base_asset", "quote_asset", "volume_24h", "market_cap", "status")
SYMBOLS = [
    dict(zip(_FIELDS, row, strict=True))
    for row in (
        ("BTCUSDT", "BTC", "USDT", 9e9, 1.2e12, "TRADING"),
        ("ETHUSDT", "ETH", "USDT", 5e9, 4e11, "TRADING"),
        ("ETHBTC", "ETH", "BTC", 1e8, 4e11, "TRADING"),
        ("OLDUSDT", "OLD", "USDT", 1.0, 1.0, "BREAK"),
    )
]


def candle_buckets(symbol: str, days: int = 10, start: int = JAN_2024) -> list[dict[str, Any]]:
    """Hourly candles of a random walk, as ``ohlcv`` day buckets."""
    rng = np.random.default_rng(abs(hash(symbol)) % 2**32)
    n = days * 24
    times = start + np.arange(n, dtype=np.float64) * HOUR
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    cols = {
        "open_time": times,
        "open": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "close": close,
        "volume": np.full(n, 10.0),
        "quote_volume": close * 10,
        "trades": np.full(n, 5.0),
    }
    return [
        ohlcv.pack(symbol, "1h", part, "synthetic") for _, part in ohlcv.split_by_period("1h", cols)
    ]


def symbol_docs() -> list[dict[str, Any]]:
    return [{"_id": s["symbol"], "filters": {"tick_size": "0.01"}, **s} for s in SYMBOLS]


def backtest_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "strategy": "sma_cross",
        "params": {"fast": 5, "slow": 20},
        "symbols": ["BTCUSDT"],
        "interval": "1h",
        "start": "2024-01-01T00:00:00Z",
        "end": JAN_2024 + 5 * 24 * HOUR,
        "cash": "10000",
    }
    body.update(over)
    return body


def packed(values: list[float]) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()


def trade(i: int = 0, symbol: str = "BTCUSDT") -> dict[str, Any]:
    """The ``i``-th trade of a result, as the sandbox reports trades."""
    entry = JAN_2024 + (2 * i + 1) * 60_000
    return {
        "side": "long" if i % 2 == 0 else "short",
        "entry_time": ohlcv_iso(entry),
        "entry_price": 100.0 + i % 7,
        "exit_time": ohlcv_iso(entry + 60_000),
        "exit_price": 101.5 + i % 5,
        "qty": 0.123456789,
        "fees": 0.0246913578,
        "pnl": 1.23456789 - i % 3,
        "exit_reason": "signal",
        "entry_time_ms": entry,
        "exit_time_ms": entry + 60_000,
        "symbol": symbol,
    }


def ohlcv_iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_doc(job_id: str, owner: str, n: int = 50) -> dict[str, Any]:
    """A stored result as the runner writes it before trades were paged (the trade list in
    the document; see :func:`kwont_common.backtest_trades.chunk_documents` for the new
    layout)."""
    times = [JAN_2024 + i * HOUR for i in range(n)]
    return {
        "_id": job_id,
        "owner": owner,
        "metrics": {"sharpe": 1.5, "total_return": 0.1},
        "trades": [
            {
                "side": "long",
                "entry_time": times[1],
                "entry_price": 100.0,
                "exit_time": times[5],
                "exit_price": 110.0,
                "qty": 1.0,
                "fees": 0.2,
                "pnl": 9.8,
                "exit_reason": "signal",
                "symbol": "BTCUSDT",
            }
        ],
        "trade_count": 1,
        "equity": {"time": packed(times), "value": packed([10_000 + i for i in range(n)])},
        "final_equity": "10049",
        "per_symbol": {},
        "content_hash": "c" * 64,
        "duration_ms": 12,
    }


@dataclass
class Server:
    """A gateway served in the test session's event loop."""

    base_url: str
    settings: GatewaySettings
    admin_password: str
    admin_headers: dict[str, str] = field(default_factory=dict)

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers=headers or {}, timeout=30)

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")


async def login(server: Server, username: str, password: str) -> dict[str, Any]:
    async with server.client() as c:
        r = await c.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return dict(r.json())


async def new_user(server: Server, role: str = "trader") -> tuple[str, dict[str, str]]:
    """A fresh user (created by the admin) and its auth headers: ``(user_id, headers)``."""
    name = f"u{uuid.uuid4().hex[:12]}"
    password = f"pw-{uuid.uuid4().hex}"
    async with server.client(server.admin_headers) as c:
        r = await c.post(
            "/api/v1/users", json={"username": name, "password": password, "role": role}
        )
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
    tokens = await login(server, name, password)
    return user_id, {"Authorization": f"Bearer {tokens['access_token']}"}


def portfolio_doc(account: str, owner: str, days: int = 30) -> dict[str, Any]:
    """A portfolio as the portfolio service stores it: latest snapshot, owner, daily curve."""
    times = [JAN_2024 + i * 24 * HOUR for i in range(days)]
    values = [10_000 * (1.01**i if i < days // 2 else 1.01 ** (days - i)) for i in range(days)]
    return {
        "_id": account,
        "owner": owner,
        "account": account,
        "event_time": times[-1],
        "equity": "10500.5",
        "realized_pnl": "400",
        "unrealized_pnl": "100.5",
        "fees_paid": "3.2",
        "balances": [{"asset": "USDT", "total": "10400", "locked": "0"}],
        "positions": [
            {"symbol": "BTCUSDT", "side": "LONG", "quantity": "0.1", "average_entry": "42000"}
        ],
        "equity_curve": {"time": packed(times), "value": packed(values)},
    }
