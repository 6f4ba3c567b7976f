"""The refusals the Binance account router answers before any call to Binance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from kwont_common.events import Order
from kwont_common.trading import credentials, ids
from kwont_execution.binance_accounts import refusal

pytestmark = pytest.mark.unit


def _order(account: str) -> Order:
    signal = ids.signal_id("dep", "BTCUSDT", "1m", 1_700_000_000_000)
    return Order.model_validate({
        "event_time": 1, "source": "risk", "account": account, "symbol": "BTCUSDT",
        "correlation_id": signal, "signal_id": signal,
        "client_order_id": ids.client_order_id(signal, "e"), "venue": "binance",
        "side": "BUY", "quantity": Decimal("0.01"), "leverage": 1,
    })  # fmt: skip


def test_an_account_uses_only_a_pair_of_its_own_owner() -> None:
    ring = credentials.Keyring([Fernet.generate_key().decode()])
    doc = credentials.sealed(ring, "acct", "alice", "binance", "KEY-abcdefgh1234", "S-12345678")
    assert refusal(_order("acct"), doc, "alice", ring) is None
    assert "belongs to another user" in str(refusal(_order("acct"), doc, "bob", ring))
    assert "no Binance API key attached" in str(refusal(_order("acct"), None, "alice", ring))
    assert "KWONT_CREDENTIALS_KEYS" in str(refusal(_order("acct"), doc, "alice", None))
    revoked = {**doc, "status": "revoked", "reason": "-2015: Invalid API-key"}
    assert "was refused by Binance" in str(refusal(_order("acct"), revoked, "alice", ring))
