"""``kwont-stack up|down|status|logs|env|docker-up|docker-run``: the stack from the command line.

``make up`` / ``make down`` / ``make status`` / ``make logs`` call these. Exit codes: 0 ok,
1 something failed or is unhealthy, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import xmlrpc.client
from collections.abc import Sequence

from kwont_devstack import supervisord
from kwont_devstack.config import ConfigError, StackConfig
from kwont_devstack.dockerd import run_with_dockerd, start_dockerd
from kwont_devstack.health import Row, collect
from kwont_devstack.mongo_users import MongoCredentials, MongoEndpoint
from kwont_devstack.process import EngineError
from kwont_devstack.programs import base_env
from kwont_devstack.secrets_env import load_credentials
from kwont_devstack.stack import down, up


def format_table(rows: Sequence[Row]) -> str:
    """The status table: one line per engine and service."""
    header = ("NAME", "KIND", "PID", "STATE", "HEALTH", "ADDRESS")
    lines = [
        (r.name, r.kind, str(r.pid or "-"), r.state, "healthy" if r.healthy else "UNHEALTHY",
         r.address)
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=False)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *lines]
    )


def _status(config: StackConfig, services: bool = True) -> int:
    # Read-only: status never creates the run dir; without secrets Mongo shows unhealthy.
    credentials = load_credentials(config.run_dir) or MongoCredentials("-", "-", "-")
    mongo = MongoEndpoint(config.host, config.mongo_port, credentials)
    rows = collect(config, mongo, supervisord.process_info(config))
    if not services:
        rows = [r for r in rows if r.kind == "engine"]
    print(format_table(rows))
    print(f"\nlogs: {config.logs_dir}   run dir: {config.run_dir}")
    return 0 if all(r.healthy for r in rows) else 1


def _env(config: StackConfig) -> int:
    credentials = load_credentials(config.run_dir)
    if credentials is None:
        print("kwont-stack env: no secrets yet; run `make up` first", file=sys.stderr)
        return 1
    env = base_env(config, MongoEndpoint(config.host, config.mongo_port, credentials))
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _logs(config: StackConfig, name: str | None, lines: int, follow: bool) -> int:
    if name:
        files = [config.log_path(name)]
        if not files[0].exists():
            known = sorted(p.stem for p in config.logs_dir.glob("*.log"))
            print(f"no log {files[0]}; known: {', '.join(known) or 'none'}", file=sys.stderr)
            return 1
    else:
        files = sorted(config.logs_dir.glob("*.log"))
        if not files:
            print(f"no logs in {config.logs_dir}", file=sys.stderr)
            return 1
    argv = ["tail", "-n", str(lines), *(["-F"] if follow else []), *map(str, files)]
    os.execvp("tail", argv)


def build_parser() -> argparse.ArgumentParser:
    """The ``kwont-stack`` argument parser: up, down, docker-up, docker-run, status, env, logs."""
    parser = argparse.ArgumentParser(
        prog="kwont-stack", description="Run Kwont on the embedded real engines."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_cmd = commands.add_parser("up", help="start everything; returns once healthy")
    up_cmd.add_argument(
        "--engines-only", action="store_true", help="engines and topics, no services"
    )
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("docker-up", help="only make sure a Docker engine answers (image builds)")
    docker_run = commands.add_parser(
        "docker-run",
        help="run a command with a Docker engine answering; stop the engine after it only if "
        "this started it (make test); exit status: the command's",
    )
    docker_run.add_argument("argv", nargs=argparse.REMAINDER, help="-- command [args...]")
    commands.add_parser("status", help="table of engines and services; exit 1 if unhealthy")
    commands.add_parser(
        "env", help='print `export KWONT_...` lines: eval "$(kwont-stack env)" to use the CLIs'
    )
    logs = commands.add_parser("logs", help="tail the logs (all, or one program's)")
    logs.add_argument("name", nargs="?", help="program: tansu, secantusdb, redis, gateway, ...")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("--no-follow", action="store_true", help="print and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``kwont-stack``."""
    args = build_parser().parse_args(argv)
    try:
        config = StackConfig.from_env()
    except ConfigError as exc:
        print(f"kwont-stack: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "up":
            up(config, services=not args.engines_only)
            print()
            return _status(config, services=not args.engines_only)
        if args.command == "down":
            down(config)
            return 0
        if args.command == "status":
            return _status(config)
        if args.command == "env":
            return _env(config)
        if args.command == "docker-up":
            config.run_dir.mkdir(parents=True, exist_ok=True)
            pid = start_dockerd(config.run_dir)
            print("docker: engine answers" + (f" (our dockerd, pid {pid})" if pid else ""))
            return 0
        if args.command == "docker-run":
            argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            if not argv:
                print("kwont-stack docker-run: no command (kwont-stack docker-run -- CMD ...)",
                      file=sys.stderr)  # fmt: skip
                return 2
            return run_with_dockerd(config.run_dir / "test-dockerd", argv)
        return _logs(config, args.name, args.lines, not args.no_follow)
    except (EngineError, xmlrpc.client.Fault) as exc:
        print(f"kwont-stack {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
