"""Running deployments, cached in memory and re-read in the background.

The gateway writes collection ``deployments`` (``_id``, ``owner``, ``account``,
``strategy``, ``strategy_ref``, ``params``, ``symbols``, ``interval``, ``venue``,
``status`` running|stopped, optional ``long_only``). This service re-reads the running ones
every ``deployments_refresh_s`` and answers the hot path from memory: no database read per
candle. A deployment keeps its strategy instance while its strategy and params stay the
same; a change rebuilds it.

A deployment whose strategy cannot be built (unknown strategy, missing upload, bad params,
a constructor that raises) stays in the cache without a strategy and is marked with
``last_error``, so the user sees why it emits nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kwont_common.events import StrategyRef
from kwont_common.events.envelope import now_ms
from kwont_common.mongo import Database
from kwont_quant import BUILTINS, Strategy, load_strategy
from kwont_quant.errors import QuantError
from kwont_quant.seam import call_user, instantiate

log = logging.getLogger(__name__)

VENUES = ("paper", "binance")
ACCOUNT = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # kwont_common.events.fields.Account
Key = tuple[str, str]
"""(symbol, interval)."""


@dataclass
class Deployment:
    """One running deployment as the hot path needs it."""

    id: str
    owner: str
    account: str
    strategy_name: str
    venue: str
    interval: str
    symbols: tuple[str, ...]
    long_only: bool
    fingerprint: str
    strategy: Strategy | None = None
    need: int = 0
    """Candles ``latest_signal`` reads (``live_window``, at least 1)."""
    error: str | None = None


@dataclass
class Snapshot:
    """What one refresh found: deployments by (symbol, interval), and by id."""

    by_key: dict[Key, list[Deployment]] = field(default_factory=dict)
    by_id: dict[str, Deployment] = field(default_factory=dict)


def strategy_ref(doc: Mapping[str, Any]) -> StrategyRef:
    """The deployment's strategy: its ``strategy_ref``, or (older documents) a built-in by
    name, else the owner's upload by id at its latest version."""
    if doc.get("strategy_ref"):
        return StrategyRef.model_validate(doc["strategy_ref"])
    name = str(doc["strategy"])
    return StrategyRef(name=name, builtin=name in BUILTINS, version=doc.get("version"))


def fingerprint(doc: Mapping[str, Any]) -> str:
    """What the strategy instance depends on: a change means a rebuild."""
    ref = strategy_ref(doc).model_dump(mode="json")
    return json.dumps([ref, doc.get("params") or {}], sort_keys=True, default=str)


class Registry:
    """The cache of running deployments, refreshed by :meth:`refresh`."""

    def __init__(self, db: Database, code_dir: Path, window_max: int) -> None:
        self.db = db
        self.code_dir = code_dir
        self.window_max = window_max
        self.snapshot = Snapshot()
        self.generation = 0
        """Completed refreshes (tests wait on it)."""
        self._classes: dict[str, type[Strategy]] = {}
        self._errors: dict[str, str] = {}
        """Last error written per deployment, so one failing on every candle is written once."""

    def on(self, symbol: str, interval: str) -> list[Deployment]:
        """Running deployments trading ``symbol`` on ``interval`` (no I/O)."""
        return self.snapshot.by_key.get((symbol, interval), [])

    async def refresh(self) -> None:
        """Re-read the running deployments; rebuild the ones whose strategy or params changed.

        Raises:
            pymongo.errors.PyMongoError: the read failed (the old cache stays in use).
        """
        old = self.snapshot.by_id
        fresh = Snapshot()
        async for doc in self.db.deployments.find({"status": "running"}):
            try:
                dep = await self._build(doc, old.get(str(doc["_id"])))
            except (KeyError, TypeError, ValueError) as exc:  # a malformed document: skip it
                log.warning("deployment %s is malformed: %r", doc.get("_id"), exc)
                await self.mark_error(str(doc["_id"]), f"malformed deployment: {exc!r}")
                continue
            fresh.by_id[dep.id] = dep
            for symbol in dep.symbols:
                fresh.by_key.setdefault((symbol, dep.interval), []).append(dep)
        self.snapshot = fresh
        self.generation += 1

    async def _build(self, doc: Mapping[str, Any], old: Deployment | None) -> Deployment:
        dep = Deployment(
            id=str(doc["_id"]),
            owner=str(doc.get("owner") or ""),
            account=str(doc["account"]),
            strategy_name=str(doc["strategy"]),
            venue=str(doc.get("venue") or "paper"),
            interval=str(doc["interval"]),
            symbols=tuple(str(s).upper() for s in doc.get("symbols") or ()),
            long_only=bool(doc.get("long_only", False)),
            fingerprint=fingerprint(doc),
        )
        if dep.venue not in VENUES or not ACCOUNT.fullmatch(dep.account):
            raise ValueError(f"venue {dep.venue!r} or account {dep.account!r} is not valid")
        if old is not None and old.fingerprint == dep.fingerprint:
            dep.strategy, dep.need, dep.error = old.strategy, old.need, old.error
            return dep
        try:
            cls = await self._class_of(strategy_ref(doc), dep.owner)
            dep.strategy = instantiate(cls, doc.get("params") or {})
            dep.need = max(1, int(call_user("live_window", dep.strategy.live_window)))
        except (QuantError, LookupError, TypeError, ValueError) as exc:
            dep.strategy, dep.error = None, f"strategy could not be loaded: {exc}"
            log.warning("deployment %s: %s", dep.id, dep.error, extra={"deployment": dep.id})
            await self.mark_error(dep.id, dep.error)
            return dep
        if dep.need > self.window_max:
            note = (
                f"live_window {dep.need} exceeds window_max_candles {self.window_max}; "
                f"the strategy sees the last {self.window_max} candles"
            )
            await self.mark_error(dep.id, note)
            dep.need = self.window_max
        log.info("deployment %s runs %r", dep.id, dep.strategy, extra={"deployment": dep.id})
        return dep

    async def _class_of(self, ref: StrategyRef, owner: str) -> type[Strategy]:
        """A built-in, or the owner's uploaded version (code checked against its hash).

        Raises:
            LookupError: the upload or version does not exist for this owner.
            ValueError: the stored code does not match ``code_sha256``.
            StrategyLoadError: the code does not import or defines no strategy.
        """
        if ref.builtin:
            return load_strategy(ref.name)
        doc = await self.db.strategies.find_one({"_id": ref.name, "owner": owner})
        if doc is None:
            raise LookupError(f"strategy {ref.name!r} not found for owner {owner!r}")
        wanted = ref.version or doc.get("latest_version")
        match = [v for v in doc.get("versions") or [] if v.get("version") == wanted]
        if not match:
            raise LookupError(f"strategy {ref.name!r} has no version {wanted}")
        code = str(match[0]["code"])
        digest = hashlib.sha256(code.encode()).hexdigest()
        if ref.code_sha256 and digest != ref.code_sha256:
            raise ValueError(f"strategy {ref.name!r} v{wanted} code changed since deployment")
        if digest not in self._classes:
            path = self.code_dir / f"{digest}.py"
            path.write_text(code)
            self._classes[digest] = load_strategy(path)
        return self._classes[digest]

    async def mark_error(self, dep_id: str, message: str) -> None:
        """Record ``last_error`` on the deployment (written once per distinct message)."""
        if self._errors.get(dep_id) == message:
            return
        self._errors[dep_id] = message
        await self.db.deployments.update_one(
            {"_id": dep_id}, {"$set": {"last_error": message[:4000], "last_error_at": now_ms()}}
        )
