"""AccountEvent.lineage: the trading fields a child event carries from its parent."""

from __future__ import annotations

import uuid

import pytest

from kwont_common import events as ev
from kwont_common.testing import sample_events

pytestmark = pytest.mark.unit


def parent() -> ev.Signal:
    signal = sample_events()["signals"]
    assert isinstance(signal, ev.Signal)
    return signal.model_copy(
        update={"event_time": 1_700_000_123_456, "correlation_id": uuid.UUID(int=42)}
    )


def test_lineage_is_the_four_trading_fields_of_the_parent() -> None:
    signal = parent()
    assert signal.lineage() == {
        "event_time": 1_700_000_123_456,
        "account": "acct-1",
        "symbol": "ETHUSDT",
        "correlation_id": uuid.UUID(int=42),
    }


def test_a_child_built_from_lineage_is_byte_identical_to_one_spelled_out() -> None:
    signal = parent()
    common = {"event_id": uuid.UUID(int=7), "produced_at": 1, "source": "risk"}
    by_hand = ev.RiskRejection(
        **common,
        event_time=signal.event_time,
        account=signal.account,
        symbol=signal.symbol,
        correlation_id=signal.correlation_id,
        signal_id=signal.event_id,
        code="max_open_positions",
        reason="full",
    )
    child = ev.RiskRejection(
        **common, **signal.lineage(), signal_id=signal.event_id,
        code="max_open_positions", reason="full",
    )  # fmt: skip
    assert child.model_dump_json() == by_hand.model_dump_json()
    assert child.key() == signal.key()


def test_a_field_that_differs_cannot_be_overridden_silently() -> None:
    with pytest.raises(TypeError, match="event_time"):
        ev.RiskRejection(**parent().lineage(), event_time=5)
