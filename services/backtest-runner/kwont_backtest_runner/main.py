"""Wiring and lifecycle of the backtest-runner service: ``backtest-jobs`` in, progress and
results out, each job in its own Docker sandbox."""

from __future__ import annotations

import asyncio
import functools
import logging
from urllib.parse import urlsplit

import docker
from redis.asyncio import Redis

from kwont_backtest_runner import queue_metrics, redact
from kwont_backtest_runner.checks import checker
from kwont_backtest_runner.jobs import JobRunner
from kwont_backtest_runner.reaper import reaper
from kwont_backtest_runner.sandbox import Sandbox
from kwont_backtest_runner.sandbox_net import SandboxNetwork
from kwont_backtest_runner.scheduler import Scheduler
from kwont_backtest_runner.settings import BacktestRunnerSettings
from kwont_common import backtest_trades
from kwont_common.backtest_cache import ResultCache
from kwont_common.service import Runtime, Wiring, run_service

log = logging.getLogger(__name__)


def mongo_address(uri: str) -> tuple[str, int]:
    """First host and port of a MongoDB URI (what the sandbox relay forwards to)."""
    host = urlsplit(uri).netloc.rpartition("@")[2].split(",")[0]
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "27017")
    return name or host, int(port or 27017)


async def setup(runtime: Runtime) -> Wiring:
    """Docker client, sandbox network (relay + firewall), Redis cache, job handler."""
    settings = runtime.settings
    assert isinstance(settings, BacktestRunnerSettings)
    mongo = await runtime.mongo()
    await backtest_trades.ensure_index(mongo.write)
    client = (
        docker.DockerClient(base_url=settings.docker_url, timeout=60)
        if settings.docker_url
        else docker.from_env(timeout=60)
    )
    host, port = mongo_address(settings.mongo_uri)
    network = SandboxNetwork(
        mongo_host=host, mongo_port=port, name=settings.sandbox_network,
        bridge=settings.sandbox_bridge, relay_port=settings.sandbox_relay_port,
        firewall=settings.sandbox_firewall, limits=settings.relay_limits,
    )  # fmt: skip
    await asyncio.to_thread(network.open, client)
    sandbox = Sandbox(
        client, network, settings.mongo_readonly_uri, image=settings.sandbox_image,
        limits=settings.limits, ohlcv_db=settings.mongo_market_database,
        query_timeout_ms=settings.sandbox_query_timeout_ms,
    )  # fmt: skip
    redact.install(sandbox.redact)  # no log line carries the sandbox's credentials
    redis = Redis.from_url(settings.redis_url)
    queue_metrics.limit_users(settings.queue_metrics_max_users)
    scheduler = Scheduler(settings.job_slots, settings.job_max_running_per_user)
    runner = JobRunner(
        mongo.write, ResultCache(redis, settings.result_cache_ttl_s), sandbox, runtime.producer,
        settings.runner_id, settings.retry, scheduler,
    )  # fmt: skip

    async def close() -> None:
        await redis.aclose()
        await asyncio.to_thread(sandbox.close)  # the spare container
        await asyncio.to_thread(network.close, client if settings.sandbox_network_cleanup else None)
        client.close()

    log.info("sandbox network %s ready; image %s", network.name, settings.sandbox_image)
    return Wiring(
        handlers={"backtest-jobs": runner.on_job},
        on_dead_letter=runner.on_dead_letter,
        tasks=[
            checker(mongo.write, sandbox, settings.runner_id),
            reaper(mongo.write, runtime.producer, settings.reaper, settings.runner_id),
            scheduler.close_on,
            functools.partial(
                scheduler.hold, mongo.write, settings.reaper_heartbeat_s / 2, settings.runner_id
            ),
        ],
        concurrency=settings.job_buffer,  # in hand; the scheduler lets job_slots run
        on_stop=[close],
        background_fetch=True,  # a job waits seconds in a sandbox; half a second to pick up
    )


def run() -> None:
    """Console script ``kwont-backtest-runner``."""
    run_service("backtest-runner", setup, BacktestRunnerSettings)
