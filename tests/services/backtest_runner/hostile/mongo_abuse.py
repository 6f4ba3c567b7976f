"""Finds the sandbox's Mongo credentials in its own process and tries to misuse them."""

import gc
import json

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from kwont_quant import Signals, Strategy


class Abuse(Strategy):
    def generate(self, candles) -> Signals:
        job = next(o for o in gc.get_objects() if type(o).__name__ == "SandboxJob")
        client = MongoClient(job.mongo.uri, directConnection=True, serverSelectionTimeoutMS=5000)
        attempts = {
            "read_candles": lambda: client.ohlcv.candles.find_one({}, {"_id": 1}),
            "insert_candles": lambda: client.ohlcv.candles.insert_one({"x": 1}),
            "drop_candles": lambda: client.ohlcv.candles.drop(),
            "create_collection": lambda: client.ohlcv.create_collection("evil"),
            "read_users": lambda: client.kwont.users.find_one({}),
            "read_strategies": lambda: client.kwont.strategies.find_one({}),
            "list_databases": lambda: client.list_database_names(),
            "admin_users": lambda: client.admin.command("usersInfo"),
        }
        seen = {}
        for name, attempt in attempts.items():
            try:
                attempt()
                seen[name] = "allowed"
            except PyMongoError as exc:
                seen[name] = f"{type(exc).__name__}: {str(exc)[:120]}"
        raise RuntimeError("MONGO " + json.dumps(seen))
