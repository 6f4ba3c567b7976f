"""``up`` and ``down`` of the embedded stack: engines, topics, then services, all supervised.

Order of ``up``: secrets -> Docker -> (fresh Mongo data dir: provision users with auth
off) -> supervisord with the engines -> engines healthy -> users reconciled -> topics ->
services -> services healthy. Every step is idempotent, so a second ``up`` only starts
what is missing.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from kwont_devstack import sandbox_net, supervisord
from kwont_devstack.config import StackConfig
from kwont_devstack.demo import ensure_demo_deployment
from kwont_devstack.dockerd import start_dockerd, stop_own_dockerd
from kwont_devstack.health import engine_healthy, service_ready
from kwont_devstack.mongo_users import MongoEndpoint, mongo_answers
from kwont_devstack.process import EngineError, log_tail, pid_alive, port_open, stop_pid
from kwont_devstack.programs import (
    SERVICES_GROUP,
    Program,
    base_env,
    engine_programs,
    service_programs,
)
from kwont_devstack.secantusdb import provision_offline, reconcile_online, wake_accept_loop
from kwont_devstack.secrets_env import load_or_create_credentials

ENGINE_TIMEOUT_S = 60.0
SERVICE_TIMEOUT_S = 90.0
Say = Callable[[str], None]


def endpoint(config: StackConfig) -> MongoEndpoint:
    """The stack's MongoDB endpoint with the passwords from secrets.env (created if missing)."""
    return MongoEndpoint(config.host, config.mongo_port, load_or_create_credentials(config.run_dir))


def _failure(config: StackConfig, program: Program, reason: str) -> EngineError:
    log = config.log_path(program.name)
    return EngineError(f"{program.name}: {reason}\n--- last lines of {log} ---\n{log_tail(log)}")


def _start_missing(api: Any, programs: Sequence[Program]) -> list[str]:
    """startProcess for every program not RUNNING/STARTING; returns the ones started."""
    started = []
    for program in programs:
        state = api.getProcessInfo(program.qualified)["statename"]
        if state not in ("RUNNING", "STARTING"):
            api.startProcess(program.qualified, False)
            started.append(program.name)
    return started


def _wait_healthy(
    config: StackConfig,
    programs: Sequence[Program],
    check: Callable[[Program], bool],
    timeout: float,
    ready: str = "healthy",
) -> None:
    """Wait until ``check`` passes for every program; fail fast on FATAL, else at timeout
    (the error says the program is not ``ready`` yet).

    Raises :class:`EngineError` naming the programs that failed, with their log tails.
    """
    api = supervisord.rpc(config)
    pending = list(programs)
    deadline = time.monotonic() + timeout
    while pending:
        for program in list(pending):
            state = api.getProcessInfo(program.qualified)["statename"]
            if state == "FATAL":
                raise _failure(config, program, "keeps exiting (supervisord gave up: FATAL)")
            if state == "RUNNING" and check(program):
                pending.remove(program)
        if pending and time.monotonic() > deadline:
            raise EngineError(
                "\n\n".join(
                    str(_failure(config, p, f"not {ready} after {timeout:.0f}s")) for p in pending
                )
            )
        time.sleep(0.2)


def _ensure_users(config: StackConfig, mongo: MongoEndpoint, api: Any, say: Say) -> None:
    """Make the three users match secrets.env; re-provision with auth off if the admin
    password does not (e.g. secrets.env was deleted). Raises :class:`EngineError`."""
    if reconcile_online(mongo):
        return
    say("secantusdb: stored admin password differs from secrets.env; re-provisioning users")
    _stop_secantusdb(config, api)
    provision_offline(
        config.host, config.mongo_port, config.mongo_data_dir,
        config.log_path("secantusdb-provision"), mongo.credentials,
    )  # fmt: skip
    api.startProcess("engines:secantusdb", True)
    programs = [p for p in engine_programs(config) if p.name == "secantusdb"]
    _wait_healthy(config, programs, lambda p: engine_healthy(config, p.name, mongo), 30.0)


def _stop_secantusdb(config: StackConfig, api: Any) -> None:
    """Stop the supervised SecantusDB quickly (see :func:`wake_accept_loop`) and wait until
    supervisord itself has seen it exit, so a following start is not refused."""
    api.stopProcess("engines:secantusdb", False)

    def stopping() -> bool:
        return bool(api.getProcessInfo("engines:secantusdb")["statename"] == "STOPPING")

    wake_accept_loop(config.host, config.mongo_port, stopping, 40.0)


def run_setup_script(
    config: StackConfig, mongo: MongoEndpoint, say: Say, script_name: str, *args: str,
    env: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Run one of the project's set-up commands with the stack's environment plus ``env``
    (skipped with a warning if not installed): ``kwont-topics create``,
    ``kwont-marketdata seed-demo``.

    Raises :class:`EngineError` with its output if it fails.
    """
    script = config.bin_dir / script_name
    if not script.exists():
        say(f"warning: {script} not installed yet; `{script_name} {' '.join(args)}` skipped")
        return
    full_env = {**os.environ, **base_env(config, mongo), **(env or {})}
    result = subprocess.run(
        [str(script), *args], env=full_env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise EngineError(f"{script_name} {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    said = "\n".join(t.strip() for t in (result.stderr, result.stdout) if t.strip())
    say(said or f"{script_name}: done")


def _taken(config: StackConfig, sandbox: bool) -> list[str]:
    """What another stack (or anything else) already uses, one line per setting."""
    lines = [
        f"{item.setting}={item.port}: {item.what} port {config.host}:{item.port} is taken"
        for item in config.listeners()
        if item.setting != "KWONT_SANDBOX_RELAY_PORT" and port_open(config.host, item.port)
    ]
    return lines + [str(c) for c in sandbox_net.collisions(config)] if sandbox else lines


def _check_free(config: StackConfig, sandbox: bool) -> None:
    """Refuse to start over another stack, naming every setting to move.

    Raises :class:`EngineError`.
    """
    taken = _taken(config, sandbox)
    if taken:
        raise EngineError(
            "already in use on this machine (another Kwont stack, or something else):\n  "
            + "\n  ".join(taken)
            + "\nStop that, or give this stack its own values, e.g.\n  "
            + " ".join(moved_settings(config, taken))
            + " make up"
        )


def moved_settings(config: StackConfig, taken: Sequence[str]) -> list[str]:
    """``KEY=value`` for a second stack: a run dir of its own and a free value for each
    setting in ``taken`` (lines as :func:`_taken` makes them)."""
    keys = [line.split("=", 1)[0] for line in taken]
    used = {item.port for item in config.listeners()}
    moved = [f"KWONT_RUN_DIR={config.run_dir}"]  # free: a busy one would be "already running"
    for key in dict.fromkeys(keys):
        if key == "KWONT_SANDBOX_NETWORK":
            moved.append(f"{key}={config.sandbox_network}-2")
        elif key == "KWONT_SANDBOX_BRIDGE":
            moved.append(f"{key}={config.sandbox_bridge[:13]}-2")
        else:
            port = next(i.port for i in config.listeners() if i.setting == key)
            fresh = port + 10000 if port + 10000 < 65536 else port - 10000
            while fresh in used or port_open(config.host, fresh):
                fresh += 1
            used.add(fresh)
            moved.append(f"{key}={fresh}")
    return moved


def up(config: StackConfig, *, services: bool = True, say: Say = print) -> None:
    """Start (or complete) the stack and return once everything answers its health check.

    Raises :class:`EngineError` naming what failed, with the tail of its log.
    """
    for folder in (config.logs_dir, config.mongo_data_dir.parent, config.redis_data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    mongo = endpoint(config)
    docker_pid = start_dockerd(config.run_dir)
    say("docker: using the engine that already answers (not ours)" if docker_pid is None
        else f"docker: our dockerd answers (pid {docker_pid})")  # fmt: skip
    engines = engine_programs(config)
    svc, missing = service_programs(config, mongo) if services else ([], [])
    for script in missing:
        say(f"warning: {script} is not installed; that service is skipped")
    sandbox = any(p.name == "backtest-runner" for p in svc)
    if supervisord.running(config):
        changed = supervisord.write_conf(config, engines + svc)
        if changed:
            touched = supervisord.apply_changes(config)
            say(f"supervisord: {', '.join(changed)} changed; updated groups {touched or '(none)'}")
        states = supervisord.process_info(config)
        up_already = [n for n, i in states.items() if i["statename"] == "RUNNING"]
        say(f"already running: {', '.join(sorted(up_already)) or 'nothing'}")
    else:
        _check_free(config, sandbox)
        if not (config.mongo_data_dir / "WiredTiger").exists():
            provision_offline(
                config.host, config.mongo_port, config.mongo_data_dir,
                config.log_path("secantusdb-provision"), mongo.credentials,
            )  # fmt: skip
        supervisord.write_conf(config, engines + svc)
        supervisord.start(config)
    api = supervisord.rpc(config)
    _start_missing(api, engines)

    def engine_up(p: Program) -> bool:
        if p.name == "secantusdb":  # users are checked right after
            return mongo_answers(config.host, config.mongo_port)
        return engine_healthy(config, p.name, mongo)

    _wait_healthy(config, engines, engine_up, ENGINE_TIMEOUT_S)
    _ensure_users(config, mongo, api, say)
    run_setup_script(config, mongo, say, "kwont-topics", "create")
    # A year of synthetic 1-minute BTCUSDT/ETHUSDT candles when the store is empty.
    run_setup_script(config, mongo, say, "kwont-marketdata", "seed-demo")
    # The first admin (KWONT_ADMIN_PASSWORD, or generated once into the run dir).
    gateway_api = next((s.http_port for s in config.services if s.name == "gateway"), None)
    run_setup_script(
        config, mongo, say, "kwont-gateway", "create-admin",
        # so the login and docs URLs it prints carry this stack's port
        env={"KWONT_HTTP_HOST": config.host, "KWONT_HTTP_PORT": str(gateway_api)}
        if gateway_api is not None else None,
    )  # fmt: skip
    if sandbox:
        sandbox_net.record(config)  # what `down` removes once the runner has stopped
    if svc:
        started = _start_missing(api, svc)
        if started:
            say(f"starting services: {', '.join(started)}")
        by_name = {spec.name: spec for spec in config.services}
        _wait_healthy(
            config, svc, lambda p: service_ready(config, by_name[p.name]), SERVICE_TIMEOUT_S,
            "ready (/healthz answering and its consumer groups joined)",
        )  # fmt: skip
        gateway = by_name.get("gateway")
        if (
            gateway is not None
            and gateway.http_port is not None
            and any(p.name == "gateway" for p in svc)
        ):
            try:
                say(
                    ensure_demo_deployment(
                        f"http://{config.host}:{gateway.http_port}", config.run_dir
                    )
                )
            except (OSError, KeyError, ValueError) as exc:
                raise EngineError(f"could not create the demo paper deployment: {exc!r}") from exc


def down(config: StackConfig, *, say: Say = print) -> None:
    """Stop everything this stack started: services, engines, supervisord, the sandbox
    network with its firewall rules, our dockerd.

    Idempotent. Raises :class:`EngineError` if a process refuses to die.
    """
    pid = supervisord.supervisord_pid(config)
    if pid is None:
        say("supervisord: not running")
    elif supervisord.running(config):
        api = supervisord.rpc(config)
        names = {info["name"]: info for info in api.getAllProcessInfo()}
        if any(info["group"] == SERVICES_GROUP for info in names.values()):
            api.stopProcessGroup(SERVICES_GROUP, True)
            say("services: stopped")
        if names.get("secantusdb", {}).get("statename") == "RUNNING":
            _stop_secantusdb(config, api)
        api.shutdown()
        deadline = time.monotonic() + 60
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            stop_pid(pid)
        say("engines and supervisord: stopped")
    else:
        stop_pid(pid)
        say(f"supervisord (pid {pid}) was not answering: stopped by PID")
    sandbox_net.remove(config, say)  # the runner is stopped: its relay no longer listens
    if stop_own_dockerd(config.run_dir):
        say("dockerd (ours): stopped")
