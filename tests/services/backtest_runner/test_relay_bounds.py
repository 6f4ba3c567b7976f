"""The Mongo relay's per-sandbox bounds, on real sockets in front of a real SecantusDB:
connections past the cap are closed at once and counted; reads are held to the rate."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from bson import Binary
from prometheus_client import REGISTRY
from pymongo import MongoClient

from kwont_backtest_runner.relay import MongoRelay
from kwont_backtest_runner.relay_limits import MIB, RelayLimits
from kwont_devstack.mongo_users import MongoEndpoint

pytestmark = pytest.mark.integration


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def _via(uri: str, port: int) -> str:
    """``uri`` with its host replaced by the relay's loopback address."""
    parts = urlsplit(uri)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit((parts.scheme, f"{auth}@127.0.0.1:{port}", parts.path, parts.query, ""))


@pytest.fixture
def relay(mongo: MongoEndpoint, request: pytest.FixtureRequest) -> Iterator[MongoRelay]:
    limits: RelayLimits = request.param
    r = MongoRelay("127.0.0.1", 0, mongo.host, mongo.port, limits)
    r.start()
    try:
        yield r
    finally:
        r.stop()


def _alive(sock: socket.socket) -> bool:
    """True while the relay keeps ``sock`` open (a hello-less socket: no bytes come back)."""
    sock.settimeout(0.5)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except ConnectionError:
        return False


@pytest.mark.parametrize("relay", [RelayLimits(max_connections=3)], indirect=True)
def test_connections_past_the_cap_are_refused(relay: MongoRelay, mongo: MongoEndpoint) -> None:
    refused = _count("kwont_sandbox_relay_refused_connections_total")
    socks = [socket.create_connection(("127.0.0.1", relay.listen_port)) for _ in range(5)]
    try:
        time.sleep(0.3)  # let the relay accept all five
        alive = [_alive(s) for s in socks]
        assert sorted(alive) == [False, False, True, True, True], alive
        assert _count("kwont_sandbox_relay_refused_connections_total") - refused == 2
        # pymongo under the cap still works through the relay beside the three
        for s in socks:
            s.close()
        time.sleep(0.3)
        with MongoClient(_via(mongo.app_uri, relay.listen_port), directConnection=True,
                         maxPoolSize=1, serverSelectionTimeoutMS=5000) as client:  # fmt: skip
            assert client.admin.command("ping")["ok"] == 1
    finally:
        for s in socks:
            s.close()


RATE, BURST = 4 * MIB, 2 * MIB


@pytest.mark.parametrize(
    "relay", [RelayLimits(max_connections=8, read_bytes_s=RATE, burst_bytes=BURST)],
    indirect=True,
)  # fmt: skip
def test_reads_through_the_relay_are_held_to_the_rate(
    relay: MongoRelay, mongo: MongoEndpoint
) -> None:
    n_mib = 12
    coll_name = f"relay_bw_{uuid.uuid4().hex[:8]}"
    with MongoClient(mongo.app_uri, serverSelectionTimeoutMS=5000) as direct:
        coll = direct["ohlcv"][coll_name]
        coll.insert_many([{"i": i, "blob": Binary(bytes(MIB))} for i in range(n_mib)])
        started = time.perf_counter()
        assert sum(1 for _ in coll.find({})) == n_mib
        direct_s = time.perf_counter() - started
    held = _count("kwont_sandbox_relay_throttled_bytes_total")
    try:
        with MongoClient(_via(mongo.app_uri, relay.listen_port), directConnection=True,
                         serverSelectionTimeoutMS=5000) as client:  # fmt: skip
            client.admin.command("ping")
            started = time.perf_counter()
            got = sum(len(d["blob"]) for d in client["ohlcv"][coll_name].find({}))
            took = time.perf_counter() - started
    finally:
        with MongoClient(mongo.app_uri, serverSelectionTimeoutMS=5000) as direct:
            direct["ohlcv"][coll_name].drop()
    assert got == n_mib * MIB
    expected = (n_mib * MIB - BURST) / RATE  # the bucket starts full: the burst is free
    assert took >= 0.8 * expected, (took, expected, direct_s)
    assert _count("kwont_sandbox_relay_throttled_bytes_total") - held >= (n_mib - 2) * MIB / 2
