"""The broker and the database a benchmark runs against, started for it and stopped after."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kwont_devstack.mongo_users import MongoCredentials, MongoEndpoint
from kwont_devstack.process import free_port
from kwont_devstack.secantusdb import start_secantus
from kwont_devstack.tansu import start_tansu

HOST = "127.0.0.1"


@contextmanager
def throwaway_mongo(prefix: str) -> Iterator[MongoEndpoint]:
    """SecantusDB alone on a free port, data and log in a temporary directory named by
    ``prefix``: yields its endpoint; stops it and removes the directory on the way out."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        engine, endpoint = start_secantus(
            HOST, free_port(HOST), work / "mongo", work / "mongo.log", MongoCredentials.generate()
        )
        try:
            yield endpoint
        finally:
            engine.stop()


@contextmanager
def kafka_and_mongo(
    work: Path, pids: dict[str, int] | None = None
) -> Iterator[tuple[str, MongoEndpoint]]:
    """tansu and SecantusDB on free ports, logs and data under ``work``: yields the Kafka
    bootstrap address and the Mongo endpoint; stops both on the way out. ``pids``, when
    given, gets each engine's process id (``tansu``, ``secantusdb``), for CPU figures."""
    engines = []
    try:
        kafka_port = free_port(HOST)
        engines.append(start_tansu(HOST, kafka_port, work / "tansu.log"))
        mongo, endpoint = start_secantus(HOST, free_port(HOST), work / "mongo", work / "mongo.log",
                                         MongoCredentials.generate())  # fmt: skip
        engines.append(mongo)
        if pids is not None:
            pids.update(tansu=engines[0].pid, secantusdb=mongo.pid)
        yield f"{HOST}:{kafka_port}", endpoint
    finally:
        for engine in reversed(engines):
            engine.stop()
