"""Divergence jobs of a deployment: submit and read (status documents in ``backtests``
with ``kind: divergence``, reports in ``divergence_reports``, both written by the runner).
Every read is filtered by owner and deployment: another user's job is "not found"."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from kwont_common.events import BacktestJob, Sizing, StrategyRef, now_ms
from kwont_common.storepub import store_then_publish
from kwont_common.trading.accounts import load_account
from kwont_gateway import deployments
from kwont_gateway.backtests import new_doc
from kwont_gateway.errors import invalid, not_found
from kwont_gateway.jobspec import parse_time
from kwont_gateway.models.divergence import DivergenceCreate
from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_quant import BUILTINS
from kwont_quant.errors import QuantError
from kwont_quant.seam import instantiate, warmup_of

REPORTS = "divergence_reports"
MAX_RANGE_MS = 366 * 86_400_000


def links(dep_id: str, job_id: str) -> dict[str, str]:
    """The API path of a divergence job."""
    return {"self": f"/api/v1/deployments/{dep_id}/divergence/{job_id}"}


def warmup_bars(ref: StrategyRef, params: dict[str, Any], asked: int | None) -> int:
    """Candles before the range the re-run loads: what the caller asked, else a built-in's
    own warm-up (its code is ours, so the gateway may run it), else 0.

    Raises:
        ApiError: 422 when the built-in refuses the deployment's parameters.
    """
    if asked is not None:
        return asked
    if not ref.builtin or ref.name not in BUILTINS:
        return 0
    try:
        return warmup_of(instantiate(BUILTINS[ref.name], params))
    except QuantError as exc:
        raise invalid(f"the deployment's parameters: {exc}", "params") from None


def build_job(dep: dict[str, Any], account: Any, body: DivergenceCreate, owner: str) -> BacktestJob:
    """The ``divergence`` job of a deployment for the body's range.

    Raises:
        ApiError: 422 for an empty or over-long range, or a deployment the event model
            refuses.
    """
    start, end = parse_time(body.start, "start"), parse_time(body.end, "end")
    if end <= start:
        raise invalid("end must be after start: the range to compare is empty", "end")
    if end - start > MAX_RANGE_MS:
        raise invalid("the range is longer than 366 days; compare it in parts", "end")
    ref = StrategyRef.model_validate(dep.get("strategy_ref") or {"name": dep["strategy"]})
    params = dict(dep.get("params") or {})
    try:
        return _job(dep, account, body, owner, ref, params, start, end)
    except ValidationError as exc:  # e.g. a deployment stored before a rule it now breaks
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise invalid(f"the deployment cannot be re-run: {where}: {first['msg']}", where) from None


def _job(
    dep: dict[str, Any], account: Any, body: DivergenceCreate, owner: str, ref: StrategyRef,
    params: dict[str, Any], start: int, end: int,
) -> BacktestJob:  # fmt: skip
    # the account's risk sizing needs a stop the re-run does not know: fraction 1 instead
    fraction = account.sizing.value if account.sizing.mode == "fraction" else 1.0
    return BacktestJob(
        event_time=now_ms(), source="gateway", job_id=new_id("dv"), owner=owner,
        kind="divergence", deployment_id=dep["_id"], account=dep["account"],
        warmup_bars=warmup_bars(ref, params, body.warmup_bars), strategy=ref, params=params,
        symbols=dep["symbols"], interval=dep["interval"], start_time=start, end_time=end,
        cash=account.cash, leverage=float(account.leverage), slippage_bps=body.slippage_bps,
        fee_bps=account.fee_bps if body.fee_bps is None else body.fee_bps,
        margin_tiers=account.margin_tiers, sizing=Sizing(mode="fraction", value=fraction),
    )  # fmt: skip


async def submit(
    gw: Gateway, principal: Principal, dep_id: str, body: DivergenceCreate
) -> dict[str, Any]:
    """Queue a divergence job for one of the caller's deployments; the 202 answer.

    Raises:
        ApiError: 404 not the caller's deployment; 422 a bad range.
    """
    dep = await deployments.get(gw, principal, dep_id)
    account = await load_account(gw.read, dep["account"])
    job = build_job(dep, account, body, principal.user_id)
    doc = new_doc(job.job_id, principal.user_id, job.model_dump(mode="json"), kind="divergence")
    await store_then_publish(gw.write.backtests, doc, gw.producer, job)
    return {"job_id": job.job_id, "status": "queued", "links": links(dep_id, job.job_id)}


def public(doc: dict[str, Any], report: dict[str, Any] | None) -> dict[str, Any]:
    """A divergence status document (and its report) as the API shows it."""
    job = doc.get("job") or {}
    return {
        "id": doc["_id"],
        "deployment_id": job.get("deployment_id", ""),
        "status": doc["status"],
        "progress": doc.get("progress") or {"stage": "queued", "fraction": 0.0},
        "start_time": job.get("start_time", 0),
        "end_time": job.get("end_time", 0),
        "slippage_bps": job.get("slippage_bps", 0.0),
        "fee_bps": job.get("fee_bps", 0.0),
        "warmup_bars": job.get("warmup_bars", 0),
        "submitted_at": doc["submitted_at"],
        "finished_at": doc.get("finished_at"),
        "error": doc.get("error"),
        "report": None if report is None else report.get("report"),
        "links": links(job.get("deployment_id", ""), doc["_id"]),
    }


def _query(principal: Principal, dep_id: str) -> dict[str, Any]:
    return {"owner": principal.user_id, "kind": "divergence", "job.deployment_id": dep_id}


async def get(gw: Gateway, principal: Principal, dep_id: str, job_id: str) -> dict[str, Any]:
    """One divergence job of the caller's deployment, with its report when done.

    Raises:
        ApiError: 404 when the job is missing, someone else's or of another deployment.
    """
    doc = await gw.read.backtests.find_one({"_id": job_id, **_query(principal, dep_id)})
    if doc is None:
        raise not_found("divergence job", job_id)
    report = await gw.read[REPORTS].find_one({"_id": job_id, "owner": principal.user_id})
    return public(doc, report)


async def find(gw: Gateway, principal: Principal, dep_id: str) -> list[dict[str, Any]]:
    """The caller's divergence jobs of a deployment, newest first (at most 100), without
    their reports.

    Raises:
        ApiError: 404 when the deployment is not the caller's.
    """
    await deployments.get(gw, principal, dep_id)
    cursor = gw.read.backtests.find(_query(principal, dep_id)).sort("submitted_at", -1).limit(100)
    return [public(d, None) async for d in cursor]
