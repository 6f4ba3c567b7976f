"""Wiring and lifecycle of the gateway service, and its ``create-admin`` command."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

import redis.asyncio as aioredis

from kwont_common.mongo import Mongo
from kwont_common.retry import retry_until
from kwont_common.service import Runtime, Wiring, run_service
from kwont_gateway.app import create_app
from kwont_gateway.http import http_task
from kwont_gateway.indexes import ensure_indexes
from kwont_gateway.push import push_feed
from kwont_gateway.ratelimit import RateLimiter
from kwont_gateway.settings import GatewaySettings
from kwont_gateway.state import Gateway, load_jwt_secret
from kwont_gateway.users import ADMIN_USERNAME, ensure_admin

log = logging.getLogger(__name__)


def build_gateway(runtime: Runtime) -> Gateway:
    """The shared state. Connections are lazy: the API answers /healthz before MongoDB or
    Redis do, and /readyz says when they answer."""
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    redis = aioredis.from_url(settings.redis_url)
    return Gateway(
        settings=settings,
        mongo=Mongo.connect(settings),
        redis=redis,
        producer=runtime.producer,
        jwt_secret=load_jwt_secret(settings),
        limiter=RateLimiter(redis, settings.rate_window_s),
    )


async def setup(runtime: Runtime) -> Wiring:
    """The HTTP server, the push feed, and index creation in the background."""
    gw = build_gateway(runtime)
    settings = gw.settings
    runtime.health.add_check("push_feed", lambda: gw.feed_ready)
    app = create_app(gw)

    async def create_indexes(stop: asyncio.Event) -> None:
        job = asyncio.create_task(retry_until(lambda: ensure_indexes(gw.write), "indexes", 3600))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([job, stopping], return_when=asyncio.FIRST_COMPLETED)
        job.cancel()  # no-op when done; MongoDB may still be away at shutdown
        if job.done() and not job.cancelled() and job.exception() is not None:
            log.error("could not create indexes: %s", job.exception())
        await stopping  # a finished task would stop the service

    async def close() -> None:
        await gw.redis.aclose()
        await gw.mongo.close()

    # Long-lived start-up objects leave the collector's view and young collections run less
    # often: collection pauses were the largest part of the API's tail latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return Wiring(
        tasks=[
            http_task(app, settings.http_host, settings.http_port),
            push_feed(gw),
            create_indexes,
        ],
        on_stop=[close],
    )


async def create_admin(settings: GatewaySettings) -> str:
    """Create the first admin when missing; the login hint to print."""
    mongo = Mongo.connect(settings)
    try:
        await mongo.wait_ready()
        await ensure_indexes(mongo.write)
        created, where = await ensure_admin(mongo.write, settings.admin_password, settings.run_dir)
    finally:
        await mongo.close()
    base = f"http://{settings.http_host}:{settings.http_port}"
    state = "created" if created else "already exists"
    return (
        f"kwont: user {ADMIN_USERNAME!r} {state}; password {where}\n"
        f"  log in: curl -s -X POST {base}/api/v1/auth/token "
        f"-d username={ADMIN_USERNAME} -d password=<password>\n"
        f"  API docs: {base}/docs"
    )


def run() -> None:
    """Console script ``kwont-gateway`` (``kwont-gateway create-admin`` for the first admin)."""
    if sys.argv[1:2] == ["create-admin"]:
        settings = GatewaySettings(service_name="gateway")
        print(asyncio.run(create_admin(settings)))
        return
    run_service("gateway", setup, GatewaySettings)  # on uvloop (the service shell's choice)
