"""Serving the ASGI app with uvicorn inside the service shell."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from kwont_common.service import Task


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service shell owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def http_task(app: FastAPI, host: str, port: int) -> Task:
    """A service task that serves ``app`` until the shell's stop event is set."""

    async def serve_http(stop: asyncio.Event) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        server = _Server(config)
        serving = asyncio.create_task(server.serve())
        await asyncio.wait(
            [serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        server.should_exit = True
        await serving

    return serve_http
