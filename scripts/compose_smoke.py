"""Smoke test of a running Kwont stack through its gateway only (used by `make compose-test`).

Needs nothing but the gateway URL and an admin's credentials (env KWONT_SMOKE_URL,
KWONT_SMOKE_USER, KWONT_SMOKE_PASSWORD), so it runs against compose, a Helm install or
`make up` alike. Steps: the admin creates a trader; the trader submits several backtests
of a built-in strategy (distinct parameters, so none is a cache hit and the jobs spread over
the runner replicas' partitions) and waits for each result; then creates a paper deployment
and sees it listed. Exit 0 when all of it worked; the first failure is printed.
The candle store must hold BTCUSDT 1m over the last ~40 days (`kwont-marketdata seed-demo`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import time

import httpx

BACKTESTS = 6
TIMEOUT_S = 180.0


def token(client: httpx.Client, username: str, password: str) -> str:
    """An access token for username from the gateway's password login."""
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def check(answer: httpx.Response, *expected: int) -> dict:  # type: ignore[type-arg]
    """The JSON of answer; exits with the request and the answer when its status is not one of
    expected."""
    if answer.status_code not in expected:
        raise SystemExit(
            f"smoke: {answer.request.method} {answer.request.url} -> "
            f"{answer.status_code} {answer.text[:500]}"
        )
    return answer.json() if answer.content else {}


def main() -> int:
    """Run the smoke steps against KWONT_SMOKE_URL; 0 when all of them worked."""
    url = os.environ.get("KWONT_SMOKE_URL", "http://127.0.0.1:8000")
    user, password = os.environ.get("KWONT_SMOKE_USER", "admin"), os.environ["KWONT_SMOKE_PASSWORD"]
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {token(client, user, password)}"
        name, trader_password = f"smoke-{secrets.token_hex(4)}", secrets.token_hex(12)
        check(
            client.post(
                "/api/v1/users",
                json={"username": name, "password": trader_password, "role": "trader"},
            ),
            200,
            201,
        )
        client.headers["Authorization"] = f"Bearer {token(client, name, trader_password)}"
        print(f"smoke: user {name} created and logged in")

        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start, end = today - dt.timedelta(days=40), today - dt.timedelta(days=10)
        jobs = []
        for fast in range(5, 5 + BACKTESTS):
            body = {
                "strategy": "sma_cross",
                "params": {"fast": fast, "slow": 40},
                "symbols": ["BTCUSDT"],
                "interval": "1m",
                "start": start.isoformat(),
                "end": end.isoformat(),
                "cash": 10000,
                "fee_bps": 10,
            }
            jobs.append(check(client.post("/api/v1/backtests", json=body), 202)["job_id"])
        pending = set(jobs)
        deadline = time.monotonic() + TIMEOUT_S
        while pending and time.monotonic() < deadline:
            for job in list(pending):
                status = check(client.get(f"/api/v1/backtests/{job}"), 200)
                if status["status"] in ("failed", "cancelled"):
                    raise SystemExit(
                        f"smoke: backtest {job} {status['status']}: {status.get('error')}"
                    )
                if status["status"] == "succeeded":
                    result = check(client.get(f"/api/v1/backtests/{job}/result?points=10"), 200)
                    print(
                        f"smoke: backtest {job} succeeded on {status.get('runner')}: "
                        f"final equity {result.get('final_equity')}"
                    )
                    pending.discard(job)
            time.sleep(0.5)
        if pending:
            raise SystemExit(
                f"smoke: backtests not finished after {TIMEOUT_S:.0f}s: {sorted(pending)}"
            )

        body = {
            "account": f"paper-{name}",
            "strategy": "sma_cross",
            "params": {"fast": 5, "slow": 20},
            "symbols": ["BTCUSDT"],
            "interval": "1m",
            "venue": "paper",
        }
        deployment = check(client.post("/api/v1/deployments", json=body), 200, 201)
        listed = check(client.get("/api/v1/deployments"), 200)
        items = listed.get("items", listed) if isinstance(listed, dict) else listed
        if not any(d.get("id") == deployment.get("id") for d in items):
            raise SystemExit(f"smoke: deployment {deployment} not listed: {listed}")
        print(f"smoke: paper deployment {deployment.get('id')} {deployment.get('status')}")
        # It must trade: signals, orders, fills and a position or PnL through the API.
        account = body["account"]
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            seen = {
                what: check(client.get(f"/api/v1/{what}", params={"account": account}), 200)
                for what in ("signals", "orders", "fills")
            }
            if all(seen.values()):
                break
            if time.monotonic() > deadline:
                counts = {k: len(v) for k, v in seen.items()}
                raise SystemExit(f"smoke: paper deployment did not trade in time: {counts}")
            time.sleep(1.0)
        book = check(client.get(f"/api/v1/portfolio/{account}"), 200)
        fill = seen["fills"][0]
        print(
            f"smoke: paper trading: {len(seen['signals'])} signals, {len(seen['fills'])} fills "
            f"(last {fill['side']} {fill['quantity']} @ {fill['price']}, correlation "
            f"{fill.get('correlation_id')}); equity {book.get('equity')}"
        )
    print(f"smoke: passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
