"""Admin commands: ``kwont-risk reset-kill-switch ACCOUNT``, ``kwont-risk show ACCOUNT``."""

from __future__ import annotations

import argparse
import asyncio
import json

from kwont_common.mongo import Mongo
from kwont_risk.book import COLLECTION, reset_kill_switch
from kwont_risk.settings import RiskSettings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kwont-risk", description="Kwont risk service.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (the default)")
    reset = sub.add_parser("reset-kill-switch", help="let an account's entries pass again")
    reset.add_argument("account")
    reset.add_argument("--by", default="cli", help="who resets (kept in the book)")
    show = sub.add_parser("show", help="print an account's risk book")
    show.add_argument("account")
    return p


async def command(args: argparse.Namespace, settings: RiskSettings) -> int:
    mongo = Mongo.connect(settings)
    try:
        await mongo.wait_ready()
        db = mongo.write
        if args.command == "reset-kill-switch":
            done = await reset_kill_switch(db, args.account, args.by)
            print(f"{args.account}: kill switch {'reset' if done else 'was not tripped'}")
            return 0
        doc = await db[COLLECTION].find_one({"_id": args.account}, {"seen": 0})
        if doc is None:
            print(f"{args.account}: no risk book")
            return 1
        print(json.dumps(doc, indent=2, default=str))
        return 0
    finally:
        await mongo.close()


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    settings = RiskSettings(service_name="risk", log_json=False)
    return asyncio.run(command(args, settings))
