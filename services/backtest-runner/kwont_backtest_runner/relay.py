"""A TCP relay that makes MongoDB reachable from the sandbox network.

MongoDB (SecantusDB in the embedded profile) listens on loopback, which a container cannot
reach; the relay listens on the sandbox network's gateway address and pipes each connection
to MongoDB. It runs on its own thread and event loop, so it works under a synchronous caller
and under the runner's asyncio loop alike.

Each sandbox (one source address) gets at most ``max_connections`` connections (one more is
closed at once, counted) and its bytes from MongoDB pass a token bucket
(:mod:`kwont_backtest_runner.relay_limits`): a relay that holds them back stops reading
from MongoDB, so TCP backpressure slows the query's sender instead of buffering here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from prometheus_client import Counter

from kwont_backtest_runner.relay_limits import Ledger, RelayLimits

_CHUNK = 256 * 1024
log = logging.getLogger(__name__)
REFUSED = Counter(
    "kwont_sandbox_relay_refused_connections",
    "Sandbox connections to the Mongo relay closed at once: over the per-sandbox cap.",
)
THROTTLED_BYTES = Counter(
    "kwont_sandbox_relay_throttled_bytes",
    "Bytes from MongoDB to a sandbox the relay held back (over its read rate and burst).",
)
THROTTLED_SECONDS = Counter(
    "kwont_sandbox_relay_throttled_seconds",
    "Seconds the relay held a sandbox's reads back, summed over connections.",
)


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay: Callable[[int], float] | None = None,
) -> None:
    try:
        while data := await reader.read(_CHUNK):
            wait = delay(len(data)) if delay is not None else 0.0
            if wait > 0:
                THROTTLED_BYTES.inc(len(data))
                THROTTLED_SECONDS.inc(wait)
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class MongoRelay:
    """Listens on ``listen_host:listen_port`` and forwards to ``target_host:target_port``,
    each source address under ``limits`` (default: :class:`RelayLimits`'s)."""

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        target_host: str,
        target_port: int,
        limits: RelayLimits | None = None,
    ) -> None:
        self.listen_host, self.listen_port = listen_host, listen_port
        self.target_host, self.target_port = target_host, target_port
        self.ledger = Ledger(limits or RelayLimits())
        """Connections and buckets by source; touched only on the relay's own loop."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        peer = c_writer.get_extra_info("peername")
        source = str(peer[0]) if peer else "?"
        loop = asyncio.get_running_loop()
        if not self.ledger.admit(source, loop.time()):
            REFUSED.inc()
            log.debug("relay: %s is over %d connections; closed", source,
                      self.ledger.limits.max_connections)  # fmt: skip
            c_writer.transport.abort()  # a reset, at once: pymongo fails fast, no hang
            return
        try:
            try:
                m_reader, m_writer = await asyncio.wait_for(
                    asyncio.open_connection(self.target_host, self.target_port), 10
                )
            except (OSError, TimeoutError):
                c_writer.close()
                return

            def delay(n: int) -> float:
                return self.ledger.delay(source, n, loop.time())

            await asyncio.gather(_pipe(c_reader, m_writer), _pipe(m_reader, c_writer, delay))
        finally:
            self.ledger.release(source)

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
