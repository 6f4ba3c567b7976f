"""The risk service on real tansu and SecantusDB refuses a leverage the symbol's notional
bracket does not allow (``bracket_leverage``) and lets the same leverage through on a
notional small enough (BTCUSDT: 100x up to 500,000, 20x from 8,000,000)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kwont_common.trading.accounts import AccountConfig, RiskLimits, save_account
from tests.libs.common.kafka_helpers import wait_for
from tests.services.risk.test_risk_service import T0, Stack, found, signal, stack  # noqa: F401

pytestmark = pytest.mark.integration


async def prepare(db: Any, cash: int) -> None:
    config = AccountConfig(
        account="acct", cash=Decimal(cash), leverage=50, limits=RiskLimits(max_leverage=125)
    )
    await save_account(db, config)
    await db["deployments"].insert_one({"_id": "dep", "account": "acct", "owner": "alice"})
    filters = {"step_size": "0.001", "min_notional": "5", "tick_size": "0.01"}
    await db["symbols"].insert_one({"_id": "BTCUSDT", "symbol": "BTCUSDT", "filters": filters})


async def test_50x_on_a_large_notional_is_refused(stack: Stack) -> None:  # noqa: F811
    await prepare(stack.db, 200_000)  # all in at 50x: about 9.5 million of notional
    await stack.send(signal("enter_long", 100.0, T0))
    await wait_for(lambda: len(stack.rejections()) == 1)
    [refused] = stack.rejections()
    assert refused.code == "bracket_leverage" and not stack.orders()
    assert refused.reason.startswith("leverage 50x is above the 20x BTCUSDT's bracket 4 allows")
    stored = await found(stack.db, "risk_rejections", {"code": "bracket_leverage"})
    assert stored["owner"] == "alice"


async def test_50x_on_a_small_notional_passes(stack: Stack) -> None:  # noqa: F811
    await prepare(stack.db, 10_000)  # about 476,000 of notional: bracket 2 (100x)
    await stack.send(signal("enter_long", 100.0, T0))
    await wait_for(lambda: len(stack.orders()) == 1)
    [order] = stack.orders()
    assert order.leverage == 50 and order.quantity * 100 > 450_000 and not stack.rejections()
