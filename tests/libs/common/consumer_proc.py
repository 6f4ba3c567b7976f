"""A consumer process for the shutdown tests: handles `candles` slowly, appending the offset of
each handled message to a file, in the same service shell production uses.

Usage: python consumer_proc.py BOOTSTRAP PREFIX GROUP OUTFILE
"""

from __future__ import annotations

import asyncio
import sys

from kwont_common import events as ev
from kwont_common.service import Runtime, Wiring, run_service
from kwont_common.settings import Settings

bootstrap, prefix, group, outfile = sys.argv[1:5]


async def setup(runtime: Runtime) -> Wiring:
    out = open(outfile, "a", buffering=1)  # noqa: SIM115 - closed by the stop hook

    async def on_candle(candle: ev.Candle) -> None:
        await asyncio.sleep(0.02)  # slow enough to be killed mid-stream
        out.write(f"{candle.trades}\n")

    async def close() -> None:
        out.close()

    return Wiring(handlers={"candles": on_candle}, on_stop=[close])


class ProcSettings(Settings):
    pass


if __name__ == "__main__":
    import os

    os.environ.update(
        KWONT_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        KWONT_KAFKA_IDEMPOTENCE="false",
        KWONT_TOPIC_PREFIX=prefix,
        KWONT_CONSUMER_GROUP=group,
        KWONT_METRICS_PORT="0",
        KWONT_LOG_LEVEL="WARNING",
    )
    run_service("shutdown-test", setup, ProcSettings)
