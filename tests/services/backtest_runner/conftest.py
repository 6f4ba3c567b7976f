"""Session fixtures of the sandbox tests: the image (built by the real build script), the
sandbox network with its Mongo relay and firewall, and candles in ``ohlcv.candles``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import numpy as np
import pytest
from pymongo import MongoClient

from kwont_backtest_runner.limits import SandboxLimits
from kwont_backtest_runner.sandbox import Sandbox
from kwont_backtest_runner.sandbox_net import SandboxNetwork
from kwont_devstack.mongo_users import MongoEndpoint
from kwont_ohlcv import INDEX_KEYS, INDEX_NAME, pack, split_by_period
from kwont_quant import Candles
from kwont_quant.synthetic import gbm_ohlcv

ROOT = Path(__file__).resolve().parents[3]
DAY_MS = 86_400_000
#: Three days of 1-minute candles from 2024-01-01: enough trades, fast to load.
START_MS = 1_704_067_200_000
N_CANDLES = 3 * 1440


@pytest.fixture(scope="session")
def docker_client(docker_engine: str) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=docker_engine, timeout=60)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def sandbox_network(
    docker_client: docker.DockerClient, mongo: MongoEndpoint
) -> Iterator[SandboxNetwork]:
    """A session-private internal network (own bridge, relay and firewall chain)."""
    tag = uuid.uuid4().hex[:6]
    net = SandboxNetwork(
        mongo_host=mongo.host, mongo_port=mongo.port, name=f"kwont-sbx-test-{tag}",
        bridge=f"kwsbx{tag}",
    )  # fmt: skip
    net.open(docker_client)
    try:
        yield net
    finally:
        net.close(docker_client)


@pytest.fixture(scope="session")
def sandbox(
    docker_client: docker.DockerClient,
    sandbox_network: SandboxNetwork,
    sandbox_image: str,
    mongo: MongoEndpoint,
) -> Sandbox:
    """The launcher with short limits, so hostile cases end quickly."""
    limits = SandboxLimits(memory_mib=512, cpus=1.0, pids=64, timeout_s=30, output_mib=4)
    return Sandbox(docker_client, sandbox_network, mongo.readonly_uri, image=sandbox_image,
                   limits=limits)  # fmt: skip


def insert_candles(app_uri: str, symbol: str, candles: Candles, interval: str = "1m") -> None:
    """Store ``candles`` as day buckets in ``ohlcv.candles`` with the app user."""
    n = len(candles)
    cols = {
        "open_time": candles.open_time_ms.astype(np.float64),
        "open": candles.open, "high": candles.high, "low": candles.low, "close": candles.close,
        "volume": candles.volume, "quote_volume": candles.volume * candles.close,
        "trades": np.full(n, 10.0),
    }  # fmt: skip
    docs = [pack(symbol, interval, part) for _, part in split_by_period(interval, cols)]
    with MongoClient(app_uri, serverSelectionTimeoutMS=5000) as client:
        coll = client["ohlcv"]["candles"]
        coll.create_index(INDEX_KEYS, unique=True, name=INDEX_NAME)
        coll.insert_many(docs)


@pytest.fixture(scope="session")
def market(mongo: MongoEndpoint) -> dict[str, Candles]:
    """Two session-unique symbols with three days of 1-minute candles each."""
    tag = uuid.uuid4().hex[:6].upper()
    out = {
        f"T{tag}A": gbm_ohlcv(N_CANDLES, seed=1, start_ms=START_MS),
        f"T{tag}B": gbm_ohlcv(N_CANDLES, seed=2, start_ms=START_MS, price=50.0),
    }
    for symbol, candles in out.items():
        insert_candles(mongo.app_uri, symbol, candles)
    return out


def job_for(symbols: list[str], **overrides: object) -> dict[str, object]:
    """A BacktestJob-shaped dict (as ``BacktestJob.model_dump(mode="json")`` gives)."""
    job: dict[str, object] = {
        "job_id": f"job-{uuid.uuid4().hex[:12]}",
        "owner": "tester",
        "kind": "backtest",
        "strategy": {"name": "sma_cross", "builtin": True},
        "params": {"fast": 10, "slow": 40},
        "symbols": symbols,
        "interval": "1m",
        "start_time": START_MS,
        "end_time": START_MS + 3 * DAY_MS,
        "cash": "10000",
        "fee_bps": 10.0,
        "slippage_bps": 0.0,
        "leverage": 1.0,
        "long_only": False,
        "sizing": {"mode": "fraction", "value": 1.0},
    }
    job.update(overrides)
    return job
