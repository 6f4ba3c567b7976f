"""Engine lifecycle: failures name their cause, SecantusDB keeps data and users across restarts."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest
from pymongo import WriteConcern

from kwont_devstack.mongo_users import APP_USER, MongoCredentials, client, users_ok
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


def test_secantusdb_kill_9_and_restart_keeps_users_their_grants_and_acknowledged_writes(
    tmp_path: Path,
) -> None:
    """What an operator does: kill -9 the server, start it again on its data. The roles
    granted after provisioning (a test's or a deployment's extra database) are still there,
    and so is a write the app had acknowledged with a journaled write concern."""
    port, data, log = free_port(), tmp_path / "mongo", tmp_path / "mongo.log"
    creds = MongoCredentials.generate()
    engine, mongo = start_secantus("127.0.0.1", port, data, log, creds)
    try:
        with client(mongo.admin_uri) as admin:
            admin.admin.command(
                "grantRolesToUser", APP_USER, roles=[{"role": "readWrite", "db": "extra"}]
            )
        with client(mongo.app_uri) as app:
            app.extra.get_collection("jobs", write_concern=WriteConcern(j=True)).insert_one(
                {"job": 1}
            )
    finally:
        engine.popen.send_signal(signal.SIGKILL)
        engine.popen.wait(10)

    engine, mongo = start_secantus("127.0.0.1", port, data, log, creds)
    try:
        assert users_ok(mongo)
        with client(mongo.app_uri) as app:
            assert app.extra.jobs.count_documents({}) == 1  # "not authorized" before the fix
            app.extra.jobs.insert_one({"job": 2})
    finally:
        engine.stop()
