"""Settings: environment names and the documented `.env.example` stay in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kwont_common.settings import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(KWONT_[A-Z0-9_]+)=", text, re.M))
    expected = {f"KWONT_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "add these to .env.example"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KWONT_TOPIC_PREFIX", "prod.")
    monkeypatch.setenv("KWONT_KAFKA_IDEMPOTENCE", "false")
    s = Settings(service_name="risk")
    assert s.topic_prefix == "prod." and s.kafka_idempotence is False
    assert s.group_id == "kwont-risk"


def test_a_bad_setting_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KWONT_TOPIC_PARTITIONS", "zero")
    with pytest.raises(ValueError, match="topic_partitions"):
        Settings()
