"""A TCP relay that makes MongoDB reachable from the sandbox network.

MongoDB (SecantusDB in the embedded profile) listens on loopback, which a container cannot
reach; the relay listens on the sandbox network's gateway address and pipes each connection
to MongoDB. It runs on its own thread and event loop, so it works under a synchronous caller
and under the runner's asyncio loop alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

_CHUNK = 256 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class MongoRelay:
    """Listens on ``listen_host:listen_port`` and forwards to ``target_host:target_port``."""

    def __init__(
        self, listen_host: str, listen_port: int, target_host: str, target_port: int
    ) -> None:
        self.listen_host, self.listen_port = listen_host, listen_port
        self.target_host, self.target_port = target_host, target_port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            m_reader, m_writer = await asyncio.wait_for(
                asyncio.open_connection(self.target_host, self.target_port), 10
            )
        except (OSError, TimeoutError):
            c_writer.close()
            return
        await asyncio.gather(_pipe(c_reader, m_writer), _pipe(m_reader, c_writer))

    def start(self) -> None:
        """Bind and serve in a background thread.

        Raises:
            OSError: the listen address cannot be bound.
        """
        loop = asyncio.new_event_loop()
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, self.listen_host, self.listen_port, reuse_port=True)
        )
        self.listen_port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="kwont-mongo-relay", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and end the thread (open connections are dropped)."""
        loop, thread, server = self._loop, self._thread, self._server
        if loop is None or thread is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        self._loop = self._thread = self._server = None
