"""Asks MongoDB for a query that runs for many seconds (4 million rows made up server-side)."""

import gc
import time

from pymongo import MongoClient

from kwont_quant import Signals, Strategy

HUGE = [
    {"$limit": 1},
    {"$project": {"x": {"$range": [0, 4_000_000]}}},
    {"$unwind": "$x"},
    {"$group": {"_id": None, "n": {"$sum": 1}}},
]


class Hog(Strategy):
    def generate(self, candles) -> Signals:
        job = next(o for o in gc.get_objects() if type(o).__name__ == "SandboxJob")
        client = MongoClient(job.mongo.uri)  # the URI as handed over, with its bounds
        started = time.monotonic()
        rows = list(client[job.mongo.db][job.mongo.collection].aggregate(HUGE))
        raise RuntimeError(f"QUERY finished in {time.monotonic() - started:.1f}s: {rows}")
