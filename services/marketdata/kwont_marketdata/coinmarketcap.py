"""Market caps from CoinMarketCap's ``/v1/cryptocurrency/listings/latest`` (httpx).

The payload models keep CoinMarketCap's field names. Tickers are not unique on
CoinMarketCap (several coins may call themselves ``ABC``); the listing comes ranked by
market cap, so the highest-ranked coin of a ticker wins.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict

LISTINGS = "/v1/cryptocurrency/listings/latest"
LIMIT = 5000  # the endpoint's largest page: the top 5000 coins cover every Binance base asset
TIMEOUT_S = 30.0


class CmcError(RuntimeError):
    """CoinMarketCap answered with an error (bad key, plan limits, rate limit)."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Status(_Payload):
    """The status block of a CoinMarketCap answer; error_code 0 means success."""

    error_code: int = 0
    error_message: str | None = None


class Quote(_Payload):
    """A listing's quote in one currency."""

    price: float | None = None
    market_cap: float | None = None


class Listing(_Payload):
    """One asset of /v1/cryptocurrency/listings/latest, with its quotes by currency."""

    id: int
    symbol: str
    cmc_rank: int | None = None
    quote: dict[str, Quote]


class ListingsLatest(_Payload):
    """The answer of /v1/cryptocurrency/listings/latest."""

    status: Status
    data: list[Listing] = []


def market_caps_by_asset(listings: ListingsLatest, convert: str = "USD") -> dict[str, float]:
    """``{base asset: market cap}``; the best-ranked coin of a shared ticker wins."""
    ranked = sorted(listings.data, key=lambda c: c.cmc_rank or float("inf"))
    caps: dict[str, float] = {}
    for coin in ranked:
        cap = coin.quote.get(convert, Quote()).market_cap
        if cap is not None and coin.symbol.upper() not in caps:
            caps[coin.symbol.upper()] = cap
    return caps


async def market_caps(base_url: str, api_key: str) -> dict[str, float]:
    """USD market caps of the top coins by ticker.

    Raises:
        CmcError: CoinMarketCap answered with an error status.
        httpx.HTTPError: it could not be reached or timed out.
        pydantic.ValidationError: the answer is not in CoinMarketCap's format.
    """
    headers = {"X-CMC_PRO_API_KEY": api_key, "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT_S) as http:
        answer = await http.get(LISTINGS, params={"start": 1, "limit": LIMIT, "convert": "USD"})
    if answer.status_code != 200:
        raise CmcError(f"CoinMarketCap answered {answer.status_code}: {_message(answer)}")
    listings = ListingsLatest.model_validate_json(answer.content)
    if listings.status.error_code:
        raise CmcError(f"CoinMarketCap error {listings.status.error_code}: "
                       f"{listings.status.error_message}")  # fmt: skip
    return market_caps_by_asset(listings)


def _message(answer: httpx.Response) -> str:
    try:
        return str(ListingsLatest.model_validate_json(answer.content).status.error_message)
    except ValueError:  # not JSON (a proxy's page): show its start
        return answer.text[:200]
