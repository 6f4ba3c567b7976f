"""Engine lifecycle: failures name their cause, SecantusDB keeps data and users across restarts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kwont_devstack.mongo_users import MongoCredentials, client, users_ok
from kwont_devstack.process import EngineError, free_port, port_open
from kwont_devstack.redis_server import start_redis
from kwont_devstack.secantusdb import start_secantus

pytestmark = pytest.mark.integration


def test_start_failure_carries_the_engine_log(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(EngineError) as err:
            start_redis("127.0.0.1", port, tmp_path / "redis", tmp_path / "redis.log", timeout=10)
    message = str(err.value)
    assert "redis: exited with code" in message
    assert "Address already in use" in message  # the tail of redis.log


def test_secantusdb_restart_keeps_data_and_reprovisions_new_passwords(tmp_path: Path) -> None:
    port, data, log = free_port(), tmp_path / "mongo", tmp_path / "mongo.log"
    first = MongoCredentials.generate()
    engine, mongo = start_secantus("127.0.0.1", port, data, log, first)
    try:
        with client(mongo.app_uri) as app:
            app.kwont.jobs.insert_one({"job": 1})
    finally:
        engine.stop()
    assert not port_open("127.0.0.1", port)

    engine, mongo = start_secantus("127.0.0.1", port, data, log, first)  # existing dir
    try:
        with client(mongo.app_uri) as app:
            assert app.kwont.jobs.count_documents({}) == 1
    finally:
        engine.stop()

    second = MongoCredentials.generate()  # e.g. secrets.env was deleted
    engine, mongo = start_secantus("127.0.0.1", port, data, log, second)
    try:
        assert users_ok(mongo)
        with client(mongo.readonly_uri) as ro:
            assert ro.ohlcv.candles.count_documents({}) == 0
    finally:
        engine.stop()
