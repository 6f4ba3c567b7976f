"""Live paper trading end to end: a fixed candle history replayed by marketdata through
strategy -> risk -> execution (paper) -> portfolio, all five as real processes on tansu and
SecantusDB.

1. The trades equal ``kwont backtest`` on the same candles with the same fill model.
2. The same replay with each of the five services killed with SIGKILL once, at a random
   moment, and restarted: the final fills, positions and balances equal the uninterrupted
   run (no order placed twice, no fill lost).
3. The same with two replicas of each of risk, execution and portfolio, one replica of
   each killed with SIGKILL once and restarted (each kill a rebalance): the same outcome.
4. Garbage on every topic the five consume lands on its dead-letter topic and the pipeline
   carries on.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from kwont_common.events import Fill
from kwont_common.kafka.admin import ensure_topics
from kwont_common.settings import Settings
from kwont_common.trading.accounts import AccountConfig, save_account
from kwont_common.trading.ledger import Ledger
from kwont_devstack.mongo_users import (
    APP_USER,
    READONLY_USER,
    MongoCredentials,
    MongoEndpoint,
    client,
)
from kwont_devstack.process import free_port
from kwont_devstack.secantusdb import start_secantus
from kwont_devstack.servicerun import TRADING, Pipeline
from kwont_marketdata import store
from kwont_marketdata.load import columns_of
from kwont_quant import BacktestConfig, Candles, Stop, run_backtest
from kwont_quant.strategies.trend import SmaCross
from kwont_quant.synthetic import gbm_ohlcv

pytestmark = pytest.mark.e2e

SYMBOL = "PIPEUSDT"
WARM, LIVE = 120, 240
MINUTE = 60_000
SPEED = 360  # replay speed: 1m candles at 6 a second
STOPPED_CODE = '''
from kwont_quant import Stop
from kwont_quant.strategies.trend import SmaCross


class StoppedCross(SmaCross):
    """sma_cross with percent stops."""

    stop_loss = Stop.percent(0.004)
    take_profit = Stop.percent(0.006)
'''


class StoppedCross(SmaCross):
    """The oracle twin of STOPPED_CODE."""

    stop_loss = Stop.percent(0.004)
    take_profit = Stop.percent(0.006)


ACCOUNTS = {
    # account: (strategy oracle, params, deployment strategy, config)
    "acct-plain": (SmaCross, {"fast": 5, "slow": 20}, "sma_cross",
                   AccountConfig(account="acct-plain", fee_bps=10, slippage_bps=5)),
    "acct-stops": (StoppedCross, {"fast": 5, "slow": 20}, "stopped_cross",
                   AccountConfig(account="acct-stops", fee_bps=10, slippage_bps=5, leverage=3)),
}  # fmt: skip


def history() -> Candles:
    return gbm_ohlcv(WARM + LIVE, seed=21, annual_vol=2.5, price=100.0)


def grant(mongo: MongoEndpoint, name: str) -> None:
    """The app and read-only users' roles on the run's two databases."""
    with client(mongo.admin_uri) as admin:
        roles = [{"role": "readWrite", "db": name}, {"role": "readWrite", "db": f"{name}_md"}]
        admin.admin.command("grantRolesToUser", APP_USER, roles=roles)
        read = [{"role": "read", "db": f"{name}_md"}]
        admin.admin.command("grantRolesToUser", READONLY_USER, roles=read)


async def prepare(mongo: MongoEndpoint, name: str, kafka: str) -> None:
    """Topics, a database for the platform and one for market data, the candles (all in the
    store: consumers must never look past the candle in hand), accounts and deployments."""
    await ensure_topics(
        Settings(kafka_bootstrap_servers=kafka, topic_prefix=f"{name}.", topic_partitions=3)
    )
    grant(mongo, name)
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db, md = conn[name], conn[f"{name}_md"]
    c = history()
    await store.ensure_indexes(md)
    await store.upsert(md, SYMBOL, "1m", columns_of(c), feed="synthetic")
    digest = hashlib.sha256(STOPPED_CODE.encode()).hexdigest()
    await db.strategies.insert_one({
        "_id": "stopped_cross", "owner": "u1", "latest_version": 1,
        "versions": [{"version": 1, "code": STOPPED_CODE, "sha256": digest}],
    })  # fmt: skip
    for account, (_, params, strategy, cfg) in ACCOUNTS.items():
        await save_account(db, cfg)
        builtin = strategy == "sma_cross"
        ref: dict[str, Any] = {"name": strategy, "builtin": builtin}
        if not builtin:
            ref |= {"version": 1, "code_sha256": digest}
        await db.deployments.insert_one({
            "_id": f"dep-{account}", "owner": "u1", "account": account, "strategy": strategy,
            "strategy_ref": ref, "version": ref.get("version"), "params": params,
            "symbols": [SYMBOL], "interval": "1m", "venue": "paper", "status": "running",
            "created_at": 0,
        })  # fmt: skip
    await conn.close()


def pipeline(kafka: str, mongo: MongoEndpoint, name: str, logs: Path, speed: float) -> Pipeline:
    c = history()
    start, end = int(c.open_time_ms[WARM]), int(c.open_time_ms[-1]) + MINUTE
    logs.mkdir(parents=True, exist_ok=True)
    p = Pipeline(kafka, mongo, name, f"{name}_md", f"{name}.", logs)
    # consumer groups of its own: members this run kills would otherwise hold up the next
    # join of the shared kwont-risk (...) group on tansu, in later tests (over 60 s seen)
    p.group_prefix = name
    p.env = {
        "KWONT_FEED": "none",
        "KWONT_FEED_SYMBOLS": SYMBOL,
        "KWONT_FEED_INTERVAL": "1m",
        "KWONT_FEED_REPLAY_START": str(start),
        "KWONT_FEED_REPLAY_END": str(end),
        "KWONT_FEED_REPLAY_SPEED": str(speed),
        "KWONT_DEPLOYMENTS_REFRESH_S": "0.5",
        "KWONT_IN_FLIGHT_WAIT_S": "120",
    }
    return p


async def state(mongo: MongoEndpoint, name: str) -> dict[str, Any]:
    """What the run left: fills per account (in order), portfolios, paper orders."""
    conn: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.app_uri)
    db = conn[name]
    fills = [d async for d in db.fills.find({}).sort([("event_time", 1), ("_id", 1)])]
    portfolios = {d["_id"]: d async for d in db.portfolios.find({})}
    orders = await db.exec_orders.count_documents({})
    signals = await db.signals.count_documents({})
    replayed = await conn[f"{name}_md"].replay_progress.find_one({})
    progress = [d["open_time"] async for d in db.strategy_progress.find({})]
    approved = {d["_id"] async for d in db.risk_orders.find({}, {"_id": 1})}
    answered = {d["_id"] async for d in db.exec_orders.find({"outcome": {"$ne": None}}, {"_id": 1})}
    await conn.close()
    return {"fills": fills, "portfolios": portfolios, "orders": orders, "signals": signals,
            "replayed": (replayed or {}).get("open_time", 0),
            # every deployment evaluated up to this candle; orders risk sent, not answered
            "evaluated": min(progress) if len(progress) == len(ACCOUNTS) else 0,
            "unanswered": len(approved - answered)}  # fmt: skip


Kills = list[tuple[float, str]]


async def run_until_done(
    p: Pipeline, mongo: MongoEndpoint, name: str, timeout: float, kills: Kills | None = None,
    replicas: tuple[str, ...] = (), actions: dict[str, Callable[[], None]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Start the services (and ``replicas``, e.g. ``"risk.2"``), then marketdata's replay;
    kill/restart on schedule; wait until every candle went through and nothing moves any
    more."""
    services = ("strategy", "risk", "execution", "portfolio", *replicas)
    for svc in services:
        p.start(svc)
    for svc in services:
        # ready = its consumer joined (once over 60 s on a loaded machine)
        p.wait_ready(svc, timeout=150)
    p.start("marketdata", {"KWONT_FEED": "replay"})
    p.wait_ready("marketdata")
    started = time.monotonic()
    pending = sorted(kills or [])
    last, quiet_since = None, time.monotonic()
    while time.monotonic() - started < timeout:
        now = time.monotonic() - started
        while pending and pending[0][0] <= now:
            _, victim = pending.pop(0)
            if victim in (actions or {}):  # e.g. kill -9 and restart the database
                (actions or {})[victim]()
                continue
            p.kill9(victim)
            p.start(victim, {"KWONT_FEED": "replay"} if victim == "marketdata" else None)
            p.wait_ready(victim)
        for svc in p.procs:
            assert p.alive(svc), f"{svc} died:\n{p.tail(svc)}"
        try:
            snap = await state(mongo, name)
        except PyMongoError:  # the database is down (on purpose): ask again
            await asyncio.sleep(0.5)
            continue
        seen = (len(snap["fills"]), snap["orders"], snap["signals"],
                tuple(d.get("version") for d in snap["portfolios"].values()))  # fmt: skip
        if seen != last:
            last, quiet_since = seen, time.monotonic()
        last_candle = int(history().open_time_ms[-1])
        done = not pending and snap["replayed"] == last_candle == snap["evaluated"]
        if done and not snap["unanswered"] and p.lag() == 0 and time.monotonic() - quiet_since > 4:
            return snap
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"pipeline not done in {timeout}s: {last}\n"
        + "\n".join(f"--- {s}\n{p.tail(s, 1500)}" for s in p.procs)
    )


def trades_of(fills: list[dict[str, Any]], account: str) -> list[tuple[Any, ...]]:
    """Round trips from an account's fills: (side, entry px, exit px, qty, reason)."""
    out, entry = [], None
    mine = [f for f in fills if f["account"] == account]
    # a reversal's exit and entry share the candle: the exit goes first
    mine.sort(key=lambda f: (f["event_time"], 0 if f.get("reduce_only") else 1))
    for f in mine:
        if not f.get("reduce_only") and f.get("exit_reason") is None:
            entry = f
            continue
        trail = [(g["event_time"], g["side"], g.get("reduce_only"), g.get("exit_reason"),
                  g["client_order_id"][:6], g["price"][:8]) for g in mine]  # fmt: skip
        assert entry is not None, f"exit without entry: {f['_id']}; fills: {trail}"
        side = 1 if entry["side"] == "BUY" else -1
        out.append((side, float(entry["price"]), float(f["price"]), float(f["quantity"]),
                    f.get("exit_reason") or "signal"))  # fmt: skip
        entry = None
    if entry is not None:
        out.append((1 if entry["side"] == "BUY" else -1, float(entry["price"]), None,
                    float(entry["quantity"]), "open"))  # fmt: skip
    return out


def assert_same_as_backtest(snap: dict[str, Any]) -> None:
    c = history()
    for account, (cls, params, _, cfg) in ACCOUNTS.items():
        bt = BacktestConfig(cash=float(cfg.cash), fee_bps=cfg.fee_bps,
                            slippage_bps=cfg.slippage_bps, leverage=cfg.leverage)  # fmt: skip
        result = run_backtest(cls(**params), c, bt, start=WARM)
        engine = result.trades
        live = trades_of(snap["fills"], account)
        assert len(engine) >= 5, f"{account}: too few trades to prove anything"
        assert len(live) == len(engine), (account, live[-5:], engine.to_list()[-5:])
        for k, (mine, theirs) in enumerate(zip(live, engine.to_list(), strict=True)):
            side = 1 if theirs["side"] == "long" else -1
            assert mine[0] == side, (account, k, mine, theirs)
            assert mine[4] == theirs["exit_reason"], (account, k, mine, theirs)
            assert mine[1] == pytest.approx(theirs["entry_price"], rel=1e-9), (account, k)
            if mine[2] is not None:
                assert mine[2] == pytest.approx(theirs["exit_price"], rel=1e-9), (account, k)
            assert mine[3] == pytest.approx(theirs["qty"], rel=1e-6), (account, k)
        book = snap["portfolios"][account]
        assert float(book["equity"]) == pytest.approx(result.final_equity, rel=1e-6)
        if "stop" in account:
            assert {"stop_loss", "take_profit"} <= {t[4] for t in live}


def outcome(snap: dict[str, Any], account: str) -> dict[str, Any]:
    """What must not depend on crashes: the account's fills and its book."""
    fills = sorted(
        (f["_id"], f["side"], f["quantity"], f["price"], f["fee"])
        for f in snap["fills"]
        if f["account"] == account
    )
    book = snap["portfolios"][account]
    return {"fills": fills, "ledger": book["ledger"], "equity": book["equity"]}


def rebooked(snap: dict[str, Any], account: str) -> Ledger:
    """The account's ledger recomputed from the stored fills: equal to portfolio's unless
    a fill was lost on the way or booked twice."""
    ledger = Ledger(cash=ACCOUNTS[account][3].cash)
    for f in sorted((f for f in snap["fills"] if f["account"] == account),
                    key=lambda f: (f["event_time"], 0 if f.get("reduce_only") else 1)):  # fmt: skip
        ledger.apply(Fill.model_validate(f), ACCOUNTS[account][3].leverage)
    return ledger


async def test_replay_trades_like_the_backtest_and_survives_kill_9_of_each_service(
    kafka_bootstrap: str, mongo: MongoEndpoint, unique_name: str, tmp_path: Path
) -> None:
    calm = f"{unique_name}a"
    await prepare(mongo, calm, kafka_bootstrap)
    # Paced (6 candles a second) so each candle's signal is judged before the next candle
    # closes, as in live trading: stops act on the candle clock (docs/live-trading.md).
    p = pipeline(kafka_bootstrap, mongo, calm, tmp_path / "calm", speed=SPEED)
    try:
        reference = await run_until_done(p, mongo, calm, timeout=240)
    finally:
        p.stop_all()
    assert_same_as_backtest(reference)

    # The same replay, each service killed once mid-way (240 candles at 360x take 40 s).
    crash = f"{unique_name}b"
    await prepare(mongo, crash, kafka_bootstrap)
    rng = random.Random(unique_name)
    victims = list(TRADING)
    rng.shuffle(victims)
    kills = [(3.0 + 6.0 * i + rng.uniform(0, 3), v) for i, v in enumerate(victims)]
    q = pipeline(kafka_bootstrap, mongo, crash, tmp_path / "crash", speed=SPEED)
    try:
        crashed = await run_until_done(q, mongo, crash, timeout=300, kills=kills)
    finally:
        codes = q.stop_all()
    assert all(q.starts[s] == 2 for s in TRADING), q.starts
    # Identical to the calm run, stops included: a stop waits for the signals of the
    # candles before it, however far strategy or risk fell behind (execution's stop gate).
    for account in ACCOUNTS:
        assert outcome(crashed, account) == outcome(reference, account), (account, kills)
    # Every stored fill booked by portfolio exactly once, nothing else: its ledger equals
    # the stored fills rebooked in time order.
    for run, snap in (("calm", reference), ("crash", crashed)):
        for account in ACCOUNTS:
            doc = snap["portfolios"][account]
            stored = {f["_id"] for f in snap["fills"] if f["account"] == account}
            assert set(doc["seen"]) == stored, (run, account, kills)
            booked, again = Ledger.from_doc(doc["ledger"]), rebooked(snap, account)
            assert booked == again, (run, account, kills)
    assert codes  # every process was stopped

    # Two replicas of each of risk, execution and portfolio: a kill -9 of one replica is a
    # rebalance (its partitions go to the other, which loads their snapshot and replays);
    # the restart is another. The same final fills and books as the calm run.
    pair = f"{unique_name}c"
    await prepare(mongo, pair, kafka_bootstrap)
    twins = ("risk.2", "execution.2", "portfolio.2")
    order = list(twins)
    rng.shuffle(order)
    kills = [(4.0 + 8.0 * i + rng.uniform(0, 3), v) for i, v in enumerate(order)]
    r = pipeline(kafka_bootstrap, mongo, pair, tmp_path / "pair", speed=SPEED)
    try:
        paired = await run_until_done(r, mongo, pair, timeout=300, kills=kills, replicas=twins)
    finally:
        r.stop_all()
    assert all(r.starts[s] == 2 for s in twins), r.starts
    for account in ACCOUNTS:
        assert outcome(paired, account) == outcome(reference, account), (account, kills)
        doc = paired["portfolios"][account]
        assert set(doc["seen"]) == {f["_id"] for f in paired["fills"] if f["account"] == account}
        assert Ledger.from_doc(doc["ledger"]) == rebooked(paired, account), (account, kills)


async def test_kill_9_of_the_database_mid_replay_then_restart_ends_like_the_backtest(
    kafka_bootstrap: str, unique_name: str, tmp_path: Path
) -> None:
    """SecantusDB killed with SIGKILL mid-replay and restarted on its data a few seconds
    later: the services wait and retry (none exits), and the run ends as ``kwont
    backtest`` does (which the calm run above equals), every fill booked once. A private
    engine, so the session's database is not touched."""
    data, log = tmp_path / "mongo", tmp_path / "secantusdb.log"
    creds, port = MongoCredentials.generate(), free_port("127.0.0.1")
    engines = [start_secantus("127.0.0.1", port, data, log, creds)[0]]
    own = MongoEndpoint("127.0.0.1", port, creds)

    def outage() -> None:
        engines[-1].popen.send_signal(signal.SIGKILL)
        engines[-1].popen.wait(10)
        time.sleep(3)  # the services meet a dead database for a while
        # as an operator restarts it: the users keep the roles granted before the kill
        engines.append(start_secantus("127.0.0.1", port, data, log, creds)[0])

    name = f"{unique_name}d"
    try:
        await prepare(own, name, kafka_bootstrap)
        p = pipeline(kafka_bootstrap, own, name, tmp_path / "outage", speed=SPEED)
        try:
            snap = await run_until_done(
                p, own, name, timeout=300, kills=[(12.0, "secantusdb")],
                actions={"secantusdb": outage},
            )  # fmt: skip
        finally:
            p.stop_all()
        assert len(engines) == 2 and all(p.starts[s] == 1 for s in TRADING), p.starts
        assert_same_as_backtest(snap)
        for account in ACCOUNTS:
            doc = snap["portfolios"][account]
            stored = {f["_id"] for f in snap["fills"] if f["account"] == account}
            assert set(doc["seen"]) == stored, account
            assert Ledger.from_doc(doc["ledger"]) == rebooked(snap, account), account
    finally:
        engines[-1].stop()
