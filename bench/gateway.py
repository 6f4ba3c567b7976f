"""Gateway throughput: authenticated ``GET /api/v1/backtests/{id}`` on loopback.

Starts its own engines (tansu, SecantusDB, Redis) and one gateway process (uvicorn with
uvloop/httptools) in a temp dir, creates the admin, stores one backtest, then drives the
endpoint with ``wrk`` (Debian package ``wrk``) for a fixed time and prints requests per
second and latency percentiles. Each request: JWT check (no database read), the Redis
sliding-window rate check (one round trip), one MongoDB read. Target on 2 cores: at least
1,500 req/s with p99 under 25 ms — note that wrk, the gateway and SecantusDB share them.
Eight connections by default (``BENCH_CONNECTIONS``): beyond that the single gateway process
only queues, which adds latency without adding throughput.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from kwont_devstack.mongo_users import MongoCredentials, client
from kwont_devstack.process import free_port
from kwont_devstack.redis_server import start_redis
from kwont_devstack.secantusdb import start_secantus
from kwont_devstack.tansu import start_tansu

HOST = "127.0.0.1"
DURATION_S = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
PASSWORD = "bench-admin-password"
TARGET_RPS, TARGET_P99_MS = 1500, 25.0


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready in {timeout}s")


def _login(base: str) -> str:
    data = urllib.parse.urlencode({"username": "admin", "password": PASSWORD}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/auth/token", data=data, timeout=10) as r:
        return str(json.loads(r.read())["access_token"])


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, token: str, seconds: int) -> tuple[float, float, float]:
    """(req/s, p50 ms, p99 ms) of a wrk run; non-2xx answers fail the bench."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers during the bench:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {p: _ms(v, u) for p, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)\b", out)}
    return rps, pct["50"], pct["99"]


def main() -> None:
    """Start the engines and a gateway, drive it with wrk and print the requests per second;
    skipped without wrk."""
    if shutil.which("wrk") is None:
        print("bench.gateway: needs wrk (apt-get install wrk); skipped")
        return
    work = Path(tempfile.mkdtemp(prefix="kwont-bench-gw-"))
    engines = []
    gateway: subprocess.Popen[bytes] | None = None
    try:
        kafka_port = free_port(HOST)
        engines.append(start_tansu(HOST, kafka_port, work / "tansu.log"))
        mongo, endpoint = start_secantus(
            HOST, free_port(HOST), work / "mongo", work / "mongo.log", MongoCredentials.generate()
        )
        engines.append(mongo)
        redis_port = free_port(HOST)
        engines.append(start_redis(HOST, redis_port, work / "redis", work / "redis.log"))
        api_port = free_port(HOST)
        env = {
            **os.environ,
            "KWONT_KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{kafka_port}",
            "KWONT_KAFKA_IDEMPOTENCE": "false",
            "KWONT_MONGO_URI": endpoint.app_uri,
            "KWONT_REDIS_URL": f"redis://{HOST}:{redis_port}/0",
            "KWONT_HTTP_PORT": str(api_port),
            "KWONT_METRICS_PORT": str(free_port(HOST)),
            "KWONT_RUN_DIR": str(work / "run"),
            "KWONT_LOG_LEVEL": "WARNING",
            "KWONT_ADMIN_PASSWORD": PASSWORD,
            "KWONT_RATE_READ_PER_USER": str(10**9),
            "KWONT_RATE_READ_PER_IP": str(10**9),
        }
        bin_dir = Path(sys.executable).parent
        subprocess.run([bin_dir / "kwont-gateway", "create-admin"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        log = (work / "gateway.log").open("wb")
        gateway = subprocess.Popen([bin_dir / "kwont-gateway"], env=env, stdout=log, stderr=log)
        base = f"http://{HOST}:{api_port}"
        _wait(f"{base}/readyz")
        token = _login(base)
        with client(endpoint.app_uri) as mc:
            admin = mc.kwont.users.find_one({"username": "admin"})
            assert admin is not None, "create-admin did not create the admin"
            owner = str(admin["_id"])
            mc.kwont.backtests.insert_one(_backtest("bt_bench", owner))
        url = f"{base}/api/v1/backtests/bt_bench"
        _wrk(url, token, 2)  # warm-up
        rps, p50, p99 = _wrk(url, token, DURATION_S)
        verdict = "meets" if rps >= TARGET_RPS and p99 < TARGET_P99_MS else "misses"
        print(f"GET /api/v1/backtests/{{id}}, {CONNECTIONS} connections, {DURATION_S}s, wrk:")
        print(f"  {rps:,.0f} req/s   p50 {p50:.2f} ms   p99 {p99:.2f} ms")
        print(f"  ({verdict} the target of {TARGET_RPS:,} req/s with p99 < {TARGET_P99_MS:.0f} ms)")
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(30)
        for engine in reversed(engines):
            engine.stop()
        shutil.rmtree(work, ignore_errors=True)


def _backtest(job_id: str, owner: str) -> dict[str, object]:
    import datetime as dt

    return {
        "_id": job_id,
        "owner": owner,
        "kind": "backtest",
        "status": "succeeded",
        "progress": {"stage": "done", "fraction": 1.0},
        "job": {
            "job_id": job_id,
            "strategy": {"name": "sma_cross", "builtin": True},
            "params": {"fast": 10, "slow": 30},
            "symbols": ["BTCUSDT"],
            "interval": "1h",
            "start_time": 1_704_067_200_000,
            "end_time": 1_706_745_600_000,
        },
        "submitted_at": dt.datetime.now(dt.UTC),
        "started_at": None,
        "finished_at": None,
        "error": None,
        "runner": "bench",
        "from_cache": False,
    }


if __name__ == "__main__":
    main()
