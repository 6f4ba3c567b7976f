"""Settings of the marketdata service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, SecretStr, field_validator

from kwont_common.events.fields import Interval
from kwont_common.settings import Settings

INTERVALS = get_args(Interval)


class MarketdataSettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9102, ge=0, le=65535, description="Port of /metrics and /healthz.")
    binance_api_url: str = Field(
        "https://api.binance.com/api",
        description="Binance spot REST base (python-binance appends `/v3/...`).",
    )
    binance_futures_url: str = Field(
        "https://fapi.binance.com/fapi",
        description="Binance USD-M futures REST base (python-binance appends `/v1/...`).",
    )
    symbols_refresh_s: float = Field(
        3600.0,
        ge=0,
        description="Seconds between refreshes of symbol metadata from Binance and "
        "CoinMarketCap; 0 disables the schedule (`kwont-marketdata refresh-symbols` still works).",
    )
    cmc_api_url: str = Field(
        "https://pro-api.coinmarketcap.com", description="CoinMarketCap API base."
    )
    cmc_api_key: SecretStr | None = Field(
        None, description="CoinMarketCap API key; without one, market caps are not refreshed."
    )

    # --- live feeds (see docs/marketdata.md) ---
    feed: Literal["none", "synthetic", "replay", "binance"] = Field(
        "none",
        description="Live source of `candles`/`ticks`: `synthetic` (seeded GBM, accelerated "
        "clock), `replay` (stored or CSV candles, once), `binance` (websocket klines and "
        "aggregated trades) or `none`.",
    )
    feed_symbols: str = Field(
        "BTCUSDT,ETHUSDT", description="Comma-separated symbols of the live feed."
    )
    feed_interval: Interval = Field("1m", description="Candle interval of the live feed.")
    feed_pace_s: float = Field(
        1.0,
        gt=0,
        description="Synthetic feed: wall-clock seconds per candle (1.0 with 1m candles runs "
        "the market 60 times faster than real time).",
    )
    feed_seed: int = Field(7, description="Synthetic feed: seed (mixed with symbol and time).")
    feed_replay_start: str = Field(
        "", description="Replay feed: first open time (YYYY-MM-DD, ISO time or epoch ms)."
    )
    feed_replay_end: str = Field(
        "", description="Replay feed: end, exclusive (YYYY-MM-DD, ISO time or epoch ms)."
    )
    feed_replay_speed: float = Field(
        0.0, ge=0, description="Replay feed: speed multiple of real time; 0 = as fast as possible."
    )
    feed_replay_csv: str = Field(
        "",
        description="Replay feed: a Binance kline CSV file or folder to replay (stored first) "
        "instead of stored candles.",
    )
    binance_stream_url: str = Field(
        "wss://stream.binance.com:9443/",
        description="Binance spot websocket stream base (python-binance appends `stream?...`).",
    )
    binance_reconnect_max_s: float = Field(
        30.0, gt=0, description="Cap of the backoff between websocket reconnection attempts."
    )
    binance_backfill_max: int = Field(
        1000,
        ge=0,
        description="Most candles back-filled over REST at start from the last stored one "
        "(gaps seen while streaming are always filled).",
    )
    tick_candle_intervals: str = Field(
        "",
        description="Comma-separated intervals to build candles for from `ticks` (tumbling "
        "windows), for feeds that give only trades; empty disables the aggregator.",
    )
    tick_candle_flush_s: float = Field(
        0.0,
        ge=0,
        description="Aggregator: also close a window this many seconds after its end by the "
        "wall clock when no later tick came; 0 closes windows only on a later tick.",
    )

    @field_validator("tick_candle_intervals")
    @classmethod
    def _known_intervals(cls, value: str) -> str:
        unknown = [i for i in (s.strip() for s in value.split(",")) if i and i not in INTERVALS]
        if unknown:
            raise ValueError(f"unknown intervals {unknown}; known: {', '.join(INTERVALS)}")
        return value

    @property
    def symbols(self) -> list[str]:
        """``feed_symbols`` as a list, upper case."""
        return [s.strip().upper() for s in self.feed_symbols.split(",") if s.strip()]

    @property
    def tick_intervals(self) -> list[str]:
        """``tick_candle_intervals`` as a list."""
        return [s.strip() for s in self.tick_candle_intervals.split(",") if s.strip()]
