"""Strategies: the built-ins of kwont_quant and users' uploads (collection ``strategies``).

An upload is stored as versions; each version's sandbox check starts ``pending``, a
backtest-runner claims it (``checking``) and sets it to ``valid`` (with the strategy's
description) or ``invalid`` (with the error): ``models.strategies.CheckStatus``. Parameters
of a job are validated against the description before it is queued.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from kwont_common.events import StrategyRef
from kwont_gateway.errors import ApiError, invalid, not_found, owned
from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_gateway.users import now

MAX_CODE_BYTES = 200_000


@cache
def builtins() -> dict[str, dict[str, Any]]:
    """Name -> description of every built-in strategy."""
    from kwont_quant import BUILTINS, describe_strategy

    return {name: describe_strategy(cls) for name, cls in BUILTINS.items()}


def builtin_public(name: str) -> dict[str, Any]:
    """A built-in strategy as the API shows it (StrategyPublic)."""
    d = builtins()[name]
    return {
        "id": name,
        "name": name,
        "builtin": True,
        "description": d["description"],
        "parameters": d["parameters"],
        "latest_version": None,
        "versions": [],
    }


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """An uploaded strategy as the API shows it: versions without their code."""
    versions = [{k: v for k, v in ver.items() if k != "code"} for ver in doc.get("versions", [])]
    latest = versions[-1] if versions else {}
    description = (latest.get("check") or {}).get("description") or {}
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "builtin": False,
        "description": description.get("description"),
        "parameters": description.get("parameters"),
        "latest_version": doc.get("latest_version"),
        "versions": versions,
        "created_at": doc.get("created_at"),
    }


def _version(number: int, code: str) -> dict[str, Any]:
    if len(code.encode()) > MAX_CODE_BYTES:
        raise invalid(f"code is larger than {MAX_CODE_BYTES} bytes", "code")
    return {
        "version": number,
        "code": code,
        "sha256": hashlib.sha256(code.encode()).hexdigest(),
        "created_at": now(),
        "check": {"status": "pending"},
    }


async def create(gw: Gateway, principal: Principal, name: str, code: str) -> dict[str, Any]:
    """Store a new strategy with its first version (check pending)."""
    doc = {
        "_id": new_id("st"),
        "owner": principal.user_id,
        "name": name,
        "versions": [_version(1, code)],
        "latest_version": 1,
        "created_at": now(),
    }
    await gw.write.strategies.insert_one(doc)
    return doc


async def add_version(gw: Gateway, principal: Principal, ident: str, code: str) -> dict[str, Any]:
    """Append a version to one of the caller's strategies.

    Raises:
        ApiError: 404 when it is not theirs; 409 when a concurrent update won.
    """
    doc = await get_own(gw, principal, ident, primary=True)
    number = int(doc["latest_version"]) + 1
    updated = await gw.write.strategies.find_one_and_update(
        {"_id": ident, "owner": principal.user_id, "latest_version": number - 1},
        {"$push": {"versions": _version(number, code)}, "$set": {"latest_version": number}},
        return_document=True,
    )
    if updated is None:
        raise ApiError(409, "conflict", f"strategy {ident!r} changed meanwhile; retry")
    return dict(updated)


async def get_own(
    gw: Gateway, principal: Principal, ident: str, primary: bool = False
) -> dict[str, Any]:
    """The caller's uploaded strategy ident (from the primary when primary); a 404 when missing
    or someone else's."""
    db = gw.write if primary else gw.read
    return await owned(db.strategies, "strategy", ident, principal.user_id)


async def version_source(
    gw: Gateway, principal: Principal, ident: str, number: int
) -> dict[str, Any]:
    """Version ``number`` of one of the caller's strategies, its code included.

    Raises:
        ApiError: 404 when the strategy is not theirs, is a built-in (no stored versions),
            or has no such version (the message names the versions it has).
    """
    if ident in builtins():
        raise ApiError(404, "not_found", f"{ident!r} is built in: it has no stored versions")
    doc = await get_own(gw, principal, ident)
    versions = doc.get("versions") or []
    for ver in versions:
        if ver["version"] == number:
            return {"strategy_id": doc["_id"], "name": doc["name"], **ver}
    raise ApiError(
        404, "not_found",
        f"strategy {ident!r} has no version {number}; it has 1..{len(versions)}",
    )  # fmt: skip


async def get_any(gw: Gateway, principal: Principal, ident: str) -> dict[str, Any]:
    """A built-in's or one of the caller's strategies, as shown by the API."""
    if ident in builtins():
        return builtin_public(ident)
    return public(await get_own(gw, principal, ident))


async def list_all(gw: Gateway, principal: Principal) -> list[dict[str, Any]]:
    """The built-ins, then the caller's uploads (newest first)."""
    cursor = gw.read.strategies.find({"owner": principal.user_id}).sort("created_at", -1)
    own = [public(d) async for d in cursor]
    return [builtin_public(n) for n in builtins()] + own


async def delete(gw: Gateway, principal: Principal, ident: str) -> None:
    """Delete the caller's strategy ident; a 404 when it is missing or someone else's."""
    result = await gw.write.strategies.delete_one({"_id": ident, "owner": principal.user_id})
    if result.deleted_count != 1:
        raise not_found("strategy", ident)


async def resolve(
    gw: Gateway, principal: Principal, name: str, version: int | None, params: dict[str, Any]
) -> tuple[StrategyRef, dict[str, Any], list[dict[str, Any]]]:
    """``(ref, validated params, parameter descriptions)`` for a job.

    Raises:
        ApiError: 404 for an unknown or foreign strategy or version; 422 for a parameter that
            is unknown, mistyped or out of range (the message names it) or a version whose
            check is not valid.
    """
    if name in builtins():
        return (
            StrategyRef(name=name, builtin=True),
            check_builtin(name, params),
            builtins()[name]["parameters"],
        )
    doc = await get_own(gw, principal, name)
    number = version or int(doc["latest_version"])
    found = [v for v in doc["versions"] if v["version"] == number]
    if not found:
        raise not_found("strategy version", f"{name}@{number}")
    ver = found[0]
    check = ver.get("check") or {}
    if check.get("status") == "invalid":
        raise invalid(f"strategy {name!r} version {number} failed its check: {check.get('error')}")
    specs = (check.get("description") or {}).get("parameters") or []
    checked = check_described(specs, params) if check.get("status") == "valid" else dict(params)
    ref = StrategyRef(name=name, builtin=False, version=number, code_sha256=ver["sha256"])
    return ref, checked, specs


def check_builtin(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validated params of a built-in (its own ranges and cross-parameter checks)."""
    from kwont_quant import BUILTINS, QuantError
    from kwont_quant.seam import instantiate

    try:
        return instantiate(BUILTINS[name], params).params
    except QuantError as exc:
        raise invalid(f"params: {exc}", "params") from None


def check_described(specs: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Validate params against described parameters (name, type, min, max)."""
    by_name = {s["name"]: s for s in specs}
    out: dict[str, Any] = {}
    for key, value in params.items():
        spec = by_name.get(key)
        if spec is None:
            known = ", ".join(by_name) or "none"
            raise invalid(f"params: unknown parameter {key!r} (known: {known})", f"params.{key}")
        out[key] = _check_value(spec, value)
    return out


def _check_value(spec: dict[str, Any], value: Any) -> Any:
    name, kind = spec["name"], str(spec.get("type"))
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        raise invalid(f"params: parameter {name!r} must be of type {kind}", f"params.{name}")
    low, high = spec.get("min"), spec.get("max")
    if kind != "bool" and low is not None and high is not None and not low <= value <= high:
        raise invalid(
            f"params: parameter {name!r} value {value!r} is outside its range {low}..{high}",
            f"params.{name}",
        )
    return value
