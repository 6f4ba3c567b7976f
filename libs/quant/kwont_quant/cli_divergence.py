"""``kwont divergence DEPLOYMENT --from --to``: a deployment's live trades against its
backtest, as a job of the platform (``POST /api/v1/deployments/{id}/divergence``), followed
to its report and summarised.

Talks to the gateway over HTTP with the standard library only (``kwont_quant`` has no HTTP
dependency): ``--api`` (``KWONT_API_URL``, default http://127.0.0.1:8000) and ``--token``
(``KWONT_API_TOKEN``, an access token of ``POST /api/v1/auth/token``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from kwont_quant.errors import ConfigError
from kwont_quant.results import iso_utc

DEFAULT_API = "http://127.0.0.1:8000"
POLL_S = 0.5


def add_parser(sub: Any) -> None:
    """The ``divergence`` sub-command of ``kwont``."""
    p = sub.add_parser("divergence", help="compare a deployment's live trades with its backtest")
    p.add_argument("deployment", help="deployment id (GET /api/v1/deployments lists yours)")
    p.add_argument("--from", dest="start", required=True, help="ISO-8601 time or epoch ms")
    p.add_argument("--to", dest="end", required=True, help="ISO-8601 time or epoch ms")
    p.add_argument("--slippage-bps", type=float, default=0.0, help="of the re-run (default 0)")
    p.add_argument("--fee-bps", type=float, help="of the re-run (default: the account's)")
    p.add_argument("--warmup-bars", type=int, help="candles before --from to warm up")
    p.add_argument("--api", default=os.environ.get("KWONT_API_URL", DEFAULT_API))
    p.add_argument("--token", default=os.environ.get("KWONT_API_TOKEN"))
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the job")
    p.add_argument("--json", action="store_true", help="print the whole job as one JSON document")


def _time(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def call(api: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One API call; the decoded JSON answer.

    Raises:
        ConfigError: the gateway answered with an error (its message) or did not answer.
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{api.rstrip('/')}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise ConfigError(f"{method} {path}: {exc.code} {_message(exc.read())}") from None
    except urllib.error.URLError as exc:
        raise ConfigError(f"the gateway at {api} does not answer ({exc.reason}); is the "
                          "stack up (make up), or is --api right?") from None  # fmt: skip


def _message(raw: bytes) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:300]
    err = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])
    return json.dumps(doc)[:300]


def _bar(stage: str, fraction: float) -> None:
    filled = int(30 * fraction)
    sys.stderr.write(f"\r{stage:<12} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> Any:
    """Submit, follow and summarise; the whole job with ``--json``, else None.

    Raises:
        ConfigError: no token, an API error, a failed job or the timeout.
    """
    if not args.token:
        raise ConfigError("no API token: pass --token or set KWONT_API_TOKEN (the access_token "
                          "of POST /api/v1/auth/token, see README 'First backtest')")  # fmt: skip
    body: dict[str, Any] = {"start": _time(args.start), "end": _time(args.end),
                            "slippage_bps": args.slippage_bps}  # fmt: skip
    if args.fee_bps is not None:
        body["fee_bps"] = args.fee_bps
    if args.warmup_bars is not None:
        body["warmup_bars"] = args.warmup_bars
    path = f"/api/v1/deployments/{args.deployment}/divergence"
    accepted = call(args.api, args.token, "POST", path, body)
    deadline = time.monotonic() + args.timeout
    while True:
        job = call(args.api, args.token, "GET", accepted["links"]["self"])
        if not args.json:
            _bar(job["progress"]["stage"], float(job["progress"]["fraction"]))
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise ConfigError(f"job {job['id']} still {job['status']} after {args.timeout:.0f}s")
        time.sleep(POLL_S)
    if not args.json:
        sys.stderr.write("\n")
    if job["status"] != "succeeded":
        raise ConfigError(f"divergence job {job['id']} {job['status']}: {job.get('error')}")
    if args.json:
        return job
    print(summary_text(job))
    return None


def _cents(v: str) -> str:
    return f"{Decimal(v):>14,.2f}"


def summary_text(job: dict[str, Any]) -> str:
    """The report of a finished job in a few lines: counts, PnL, the gap's parts (to the
    cent, adding up to the gap) and each one-sided trade with its reason."""
    report = job["report"]
    s = report["summary"]
    total = s["matched"] + s["missed"] + s["extra"]
    share = Decimal(s["matched_share"]) * 100
    lines = [
        f"divergence {job['id']} of {job['deployment_id']}: "
        f"{iso_utc(job['start_time'])} .. {iso_utc(job['end_time'])}",
        f"matched {s['matched']} of {total} trades ({share:.2f} %); "
        f"missed {s['missed']} (backtest only), extra {s['extra']} (live only)",
        f"live PnL {_cents(s['live_pnl'])}   backtest PnL {_cents(s['backtest_pnl'])}",
        f"gap      {_cents(s['total_gap_cents'])}   = the sum of:",
    ]
    lines += [f"  {k:<9}{_cents(v)}" for k, v in s["components_cents"].items()]
    lines += [f"  note: {n}" for n in s.get("notes") or []]
    for o in report["missed"] + report["extra"]:
        t = o["trade"]
        why = o["reason"] + (f" ({o['detail']})" if o["detail"] else "")
        lines.append(f"{o['side']:<14}{t['symbol']} {t['side']:<5} {iso_utc(t['entry_time_ms'])}"
                     f"  gap {_cents(o['pnl_gap']).strip()}  reason: {why}")  # fmt: skip
    if report["matched"]:
        worst = min(report["matched"], key=lambda m: Decimal(m["pnl_gap"]))
        lines.append(f"largest gap of a matched trade: {_cents(worst['pnl_gap']).strip()} "
                     f"(entry {iso_utc(worst['live']['entry_time_ms'])}, slippage "
                     f"{_cents(worst['slippage']).strip()})")  # fmt: skip
    return "\n".join(lines)
