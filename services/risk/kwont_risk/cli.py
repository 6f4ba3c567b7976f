"""Admin commands: ``kwont-risk reset-kill-switch ACCOUNT`` (a stored request the owning
replica applies: :mod:`kwont_risk.resets`), ``kwont-risk show ACCOUNT`` (the ``risk_books``
view, written behind)."""

from __future__ import annotations

import argparse
import asyncio
import json

from kwont_common.mongo import Mongo
from kwont_risk.documents import COLLECTION
from kwont_risk.resets import request_reset
from kwont_risk.settings import RiskSettings


def parser() -> argparse.ArgumentParser:
    """The ``kwont-risk`` parser: ``serve``, ``reset-kill-switch`` and ``show``."""
    p = argparse.ArgumentParser(prog="kwont-risk", description="Kwont risk service.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (the default)")
    reset = sub.add_parser("reset-kill-switch", help="let an account's entries pass again")
    reset.add_argument("account")
    reset.add_argument("--by", default="cli", help="who resets (kept in the book)")
    reset.add_argument(
        "--wait",
        type=float,
        default=15.0,
        help="seconds to wait for the owning risk replica to apply it",
    )
    show = sub.add_parser("show", help="print an account's risk book")
    show.add_argument("account")
    return p


outcome_text = {
    "reset": "reset",
    "not tripped": "was not tripped",
    "requested": "reset requested; the risk replica that owns the account applies it",
}


async def command(args: argparse.Namespace, settings: RiskSettings) -> int:
    """Run ``reset-kill-switch`` or ``show``; the exit code (1: no book to show)."""
    mongo = Mongo.connect(settings)
    try:
        await mongo.wait_ready()
        db = mongo.write
        if args.command == "reset-kill-switch":
            outcome = await request_reset(db, args.account, args.by, args.wait)
            print(f"{args.account}: kill switch {outcome_text[outcome]}")
            return 0
        doc = await db[COLLECTION].find_one({"_id": args.account})
        if doc is None:
            print(f"{args.account}: no risk book")
            return 1
        print(json.dumps(doc, indent=2, default=str))
        return 0
    finally:
        await mongo.close()


def main(argv: list[str]) -> int:
    """Parse ``argv`` and run its admin command; the exit code."""
    args = parser().parse_args(argv)
    settings = RiskSettings(service_name="risk", log_json=False)
    return asyncio.run(command(args, settings))
