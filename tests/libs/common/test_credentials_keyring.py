"""The keyring of stored exchange key pairs: newest encrypts, any decrypts, rotation, bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from kwont_common.errors import ConfigurationError
from kwont_common.trading import credentials
from kwont_devstack.mongo_users import READONLY_USER, USER_ROLES

pytestmark = pytest.mark.unit


def test_newest_encrypts_any_decrypts_and_rotation_moves_to_the_newest() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = credentials.Keyring([old]).encrypt("the-secret")
    assert "the-secret" not in token
    both = credentials.Keyring([new, old])
    assert both.decrypt(token) == "the-secret"
    rotated = both.rotate(token)
    assert credentials.Keyring([new]).decrypt(rotated) == "the-secret"
    with pytest.raises(ConfigurationError, match="do not decrypt"):
        credentials.Keyring([old]).decrypt(rotated)
    with pytest.raises(ConfigurationError, match="do not decrypt"):  # tampered
        both.decrypt(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


def test_keys_from_the_setting_then_the_file(tmp_path: Path) -> None:
    a, b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    file = tmp_path / "keys"
    file.write_text(f"# newest first\n{b}\n\n")
    assert credentials.Keyring.of(None, None) is None
    ring = credentials.Keyring.of(a, file)
    assert ring is not None
    token = ring.encrypt("x")
    assert credentials.Keyring([a]).decrypt(token) == "x"  # the setting's key is the newest
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        credentials.Keyring.of("not-a-key", None)
    with pytest.raises(ConfigurationError, match="credentials key file"):
        credentials.Keyring.of(None, tmp_path / "missing")


def test_the_shown_view_has_neither_key_nor_secret() -> None:
    ring = credentials.Keyring([Fernet.generate_key().decode()])
    doc = credentials.sealed(ring, "acct", "usr_1", "binance", "KEY-abcdefgh1234", "SECRET-xyz0")
    assert credentials.opened(ring, doc) == ("KEY-abcdefgh1234", "SECRET-xyz0")
    shown = repr(credentials.public(doc))
    assert "KEY-abcdefgh" not in shown and "SECRET" not in shown and "1234" in shown


def test_the_sandbox_user_reads_no_platform_database() -> None:
    assert {r["db"] for r in USER_ROLES[READONLY_USER]} == {"ohlcv"}
