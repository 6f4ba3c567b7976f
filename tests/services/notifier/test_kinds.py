"""What each event is told as, and the signature a receiver checks."""

from __future__ import annotations

import pytest

from kwont_notifier.kinds import digest_text, of_fill, of_rejection
from kwont_notifier.signing import sign, verify
from tests.services.notifier.conftest import fill, rejection

pytestmark = pytest.mark.unit


def test_a_stop_loss_fill_is_a_fill_and_a_stop_loss() -> None:
    notice = of_fill(fill("a1", 1, exit_reason="stop_loss", side="SELL"))
    assert notice.kinds == ("fill", "stop_loss") and notice.account == "a1"
    assert "stop-loss hit" in notice.text and "SELL 0.01 @ 50000" in notice.text
    assert of_fill(fill("a1", 2)).kinds == ("fill",)
    assert of_fill(fill("a1", 3, exit_reason="liquidation")).kinds == ("fill", "liquidation")


def test_only_a_tripping_refusal_is_a_kill_switch() -> None:
    trip = of_rejection(rejection("a1", "max_daily_loss", "down 6% today"))
    assert trip.kinds == ("kill_switch", "risk_rejection") and "down 6% today" in trip.text
    assert of_rejection(rejection("a1", "kill_switch", "tripped")).kinds == ("risk_rejection",)


def test_a_digest_counts_every_item_and_fits_a_telegram_message() -> None:
    items = [{"kind": "fill", "text": "x" * 300} for _ in range(990)]
    text = digest_text([*items, {"kind": "stop_loss", "text": "s"}])
    assert text.startswith("digest: 991 notifications") and "990 fill, 1 stop_loss" in text
    assert len(text) <= 4000 and text.endswith(" more")
    shown = text.count("\n- ")
    assert text.endswith(f"... and {991 - shown} more") and 0 < shown <= 20


def test_the_signature_verifies_only_with_the_secret_body_and_a_fresh_time() -> None:
    header = sign("s3cret", b'{"a":1}', 1_700_000_000)
    assert verify("s3cret", b'{"a":1}', header, 1_700_000_100)
    assert not verify("s3cret", b'{"a":2}', header, 1_700_000_100)
    assert not verify("other", b'{"a":1}', header, 1_700_000_100)
    assert not verify("s3cret", b'{"a":1}', header, 1_700_001_000)  # replayed too late
    assert not verify("s3cret", b'{"a":1}', "garbage", 1_700_000_000)
