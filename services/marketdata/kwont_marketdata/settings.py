"""Settings of the marketdata service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from kwont_common.settings import Settings


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
