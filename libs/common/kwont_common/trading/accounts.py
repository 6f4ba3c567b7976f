"""A trading account's settings: paper balance and fill model, leverage, sizing and risk
limits. Stored in the ``accounts`` collection (``_id`` = account id); an account without a
document trades with the defaults below. Risk, execution (paper) and portfolio all read
it, so the three agree on fees, slippage and starting cash."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kwont_common.events.fields import Money

COLLECTION = "accounts"


class Sizing(BaseModel):
    """``fraction``: ``value`` of equity goes into margin plus entry fee (the backtest
    engine's fraction sizing). ``risk``: lose ``value`` of equity if the stop-loss is hit
    (needs a stop; without one it falls back to fraction sizing with value 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["fraction", "risk"] = "fraction"
    value: float = Field(1.0, gt=0, le=1)


class RiskLimits(BaseModel):
    """Limits risk enforces on every entry. ``None`` disables a limit. Daily loss and
    drawdown trip the account's kill switch: entries are refused until an admin resets
    it or the next UTC day (by event time) starts; exits always pass."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_notional: Money | None = Field(None, gt=0)
    max_leverage: int = Field(20, ge=1, le=125)
    max_open_positions: int = Field(10, ge=1)
    max_daily_loss: float | None = Field(
        None, gt=0, lt=1, description="Fraction of the UTC day's starting equity."
    )
    max_drawdown: float | None = Field(
        None, gt=0, lt=1, description="Fraction below the peak equity."
    )
    cooldown_s: int = Field(0, ge=0, description="Seconds between two entries on a symbol.")


class AccountConfig(BaseModel):
    """One account's settings (defaults make a 10,000 USDT paper account)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account: str
    asset: str = "USDT"
    cash: Money = Field(Decimal(10_000), gt=0, description="Starting balance (paper).")
    fee_bps: float = Field(10.0, ge=0, lt=10_000, description="Paper fee per side.")
    slippage_bps: float = Field(0.0, ge=0, lt=10_000, description="Paper slippage per side.")
    leverage: int = Field(1, ge=1, le=125)
    maintenance_margin: float = Field(0.004, ge=0, lt=1)
    margin_tiers: bool = Field(
        False,
        description="Paper liquidation by the symbol's notional bracket (kwont_quant.brackets) "
        "instead of the flat maintenance_margin; symbols without a table keep the flat rate.",
    )
    sizing: Sizing = Field(default_factory=Sizing)
    limits: RiskLimits = Field(default_factory=RiskLimits)

    @property
    def fee_rate(self) -> float:
        """fee_bps as a fraction of notional."""
        return self.fee_bps / 10_000.0

    @property
    def slippage_rate(self) -> float:
        """slippage_bps as a fraction of price."""
        return self.slippage_bps / 10_000.0

    def to_doc(self) -> dict[str, Any]:
        """The accounts document: the fields as JSON, the account as _id."""
        doc = self.model_dump(mode="json")
        doc["_id"] = doc.pop("account")
        return doc


async def load_account(db: Any, account: str) -> AccountConfig:
    """The account's settings from ``db.accounts`` (defaults when it has no document)."""
    doc = await db[COLLECTION].find_one({"_id": account})
    if doc is None:
        return AccountConfig(account=account)
    data = {k: v for k, v in doc.items() if k != "_id"}
    return AccountConfig(account=account, **data)


async def save_account(db: Any, config: AccountConfig) -> None:
    """Create or replace an account's settings."""
    doc = config.to_doc()
    await db[COLLECTION].replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def owner_of(db: Any, account: str) -> str | None:
    """The user an account belongs to (the owner of a deployment naming it), for the
    ``owner`` field the gateway filters orders, fills and portfolios by."""
    doc = await db["deployments"].find_one({"account": account}, {"owner": 1})
    return None if doc is None else doc.get("owner")
