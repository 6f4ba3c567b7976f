"""Settings of the execution service (``KWONT_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from kwont_common.settings import Settings


class ExecutionSettings(Settings):
    """Shared settings with this service's defaults."""

    metrics_port: int = Field(9105, ge=0, le=65535, description="Port of /metrics and /healthz.")
    account_cache_ttl_s: float = Field(
        5.0,
        ge=0,
        description="Seconds an account's settings and owner, and a symbol's exchange "
        "filters, are cached for the paper venue, its stop checks and the order routing (a "
        "change to fees, slippage, leverage or margin, to a symbol's filters, or to the "
        "account's owner takes effect within this time; 0: read every time).",
    )
    stop_gate_wait_s: float = Field(
        30.0,
        ge=0,
        description="Longest a paper stop-loss, take-profit or liquidation on a candle waits "
        "for the strategy to evaluate the candles before it and for an earlier signal that "
        "closes the position to be applied (so a lagging pipeline trades like the backtest); "
        "then it acts anyway. 0: never wait.",
    )
    paper_ticks: bool = Field(
        True,
        description="Follow `ticks` (latest price per symbol, not in a consumer group) so the "
        "paper venue fills at a tick newer than the signal's candle when one was seen; "
        "false: always at the order's reference price.",
    )
    binance_enabled: bool = Field(
        False, description="Route orders of venue `binance` to Binance; false: reject them."
    )
    binance_api_key: SecretStr | None = Field(
        None,
        description="Binance USD-M futures API key of the operator's own account "
        "(`binance_operator_account`); other accounts use the key pair their owner attached.",
    )
    binance_api_secret: SecretStr | None = Field(
        None, description="Binance USD-M futures API secret."
    )
    binance_operator_account: str | None = Field(
        None,
        description="The account whose orders use `binance_api_key` (the operator's own); "
        "None: no account does, every account needs its own attached key pair.",
    )
    binance_futures_url: str = Field(
        "https://fapi.binance.com/fapi",
        description="Binance USD-M futures REST base (python-binance appends `/v1/...`).",
    )
    binance_futures_stream_url: str = Field(
        "wss://fstream.binance.com/", description="Binance USD-M futures websocket base."
    )
    binance_margin_type: str = Field("ISOLATED", description="Margin type set per symbol.")
    binance_fill_timeout_s: float = Field(
        10.0, gt=0, description="How long to wait for a market order's fill report."
    )
    binance_listen_key_keepalive_s: float = Field(
        1800.0, gt=0, description="Seconds between user-data stream listen-key keepalives."
    )
