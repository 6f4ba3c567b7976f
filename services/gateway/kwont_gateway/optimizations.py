"""Grid searches (collection ``optimizations``): expand the grid, cut it into shards of about
``optimization_shard_size`` parameter sets, queue one job per shard, and rank the shards'
results by the objective when asked."""

from __future__ import annotations

import itertools
import math
from typing import Any

from pydantic import ValidationError

from kwont_common.events import WalkForwardSpec
from kwont_gateway import backtests, jobspec, overfitting, quotas, strategies
from kwont_gateway.errors import ApiError, invalid, owned
from kwont_gateway.models.optimizations import GridAxis, OptimizationCreate, RangeSpec
from kwont_gateway.principal import Principal
from kwont_gateway.security import new_id
from kwont_gateway.state import Gateway
from kwont_gateway.users import now

API = "/api/v1"


def axis_values(name: str, axis: GridAxis, limit: int) -> list[Any]:
    """The values of one grid axis. Raises ApiError 422 for an empty or oversized axis."""
    if isinstance(axis, str):
        parts = axis.split(":")
        try:
            nums = [float(p) for p in parts]
            axis = RangeSpec(start=nums[0], stop=nums[1], step=nums[2] if len(nums) > 2 else 1)
        except (ValueError, IndexError, ValidationError):
            raise invalid(f"grid.{name}: use start:stop:step", f"grid.{name}") from None
    if isinstance(axis, RangeSpec):
        span = (axis.stop - axis.start) / axis.step
        if not math.isfinite(span) or not all(map(math.isfinite, (axis.start, axis.step))):
            raise invalid(f"grid.{name}: range must be finite", f"grid.{name}")
        count = math.floor(span + 1e-9) + 1
        if count < 1 or count > limit:
            raise invalid(f"grid.{name}: range gives {max(count, 0)} values", f"grid.{name}")
        integral = all(float(x).is_integer() for x in (axis.start, axis.step))
        values = [axis.start + k * axis.step for k in range(count)]
        return [int(v) if integral else round(v, 12) for v in values]
    if not axis or len(axis) > limit:
        raise invalid(f"grid.{name}: give 1 to {limit} values", f"grid.{name}")
    return list(axis)


def expand(
    strategy: str, builtin: bool, specs: list[dict[str, Any]], grid: dict[str, list[Any]],
    fixed: dict[str, Any], limit: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every valid combination, fixed params merged in. Raises ApiError 422."""
    total = math.prod(len(v) for v in grid.values())
    if total > limit:
        raise invalid(f"grid has {total} combinations; at most {limit}", "grid")
    if builtin:
        from kwont_quant import BUILTINS, QuantError
        from kwont_quant.optimize import expand_grid

        try:
            combos = expand_grid(BUILTINS[strategy], grid)
        except QuantError as exc:
            raise invalid(f"grid: {exc}", "grid") from None
        return [{**fixed, **c} for c in combos]
    names = list(grid)
    out = []
    for combo in itertools.product(*grid.values()):
        params = {**fixed, **dict(zip(names, combo, strict=True))}
        out.append(strategies.check_described(specs, params) if specs else params)
    return out


async def submit(gw: Gateway, principal: Principal, body: OptimizationCreate) -> dict[str, Any]:
    """Validate, store, and queue one job per shard; the 202 answer. Raises ApiError 422
    invalid grid or spec; 429 the caller's queued-jobs quota is full (a grid counts once)."""
    s = gw.settings
    resolved = await jobspec.resolve(gw, principal, body)
    await quotas.admit(gw, principal)
    grid = {k: axis_values(k, v, s.max_grid_size) for k, v in body.grid.items()}
    sets = expand(
        body.strategy, resolved.strategy.builtin, resolved.parameters, grid, resolved.params,
        s.max_grid_size,
    )  # fmt: skip
    if not sets:
        raise invalid("grid: no valid parameter combination", "grid")
    opt_id = new_id("opt")
    size = s.optimization_shard_size
    shards = [sets[i : i + size] for i in range(0, len(sets), size)]
    jobs = [
        jobspec.build_job(
            body,
            resolved,
            job_id=f"{opt_id}-s{i}",
            owner=principal.user_id,
            kind="optimization_shard",
            optimization_id=opt_id,
            shard_index=i,
            shard_count=len(shards),
            param_sets=shard,
            objective=body.objective,
        )
        for i, shard in enumerate(shards)
    ]
    job_ids = [j.job_id for j in jobs]
    walk_job = None
    if body.walk_forward is not None:  # one more job: the walk-forward of the whole grid
        fixed = {k: [v] for k, v in resolved.params.items() if k not in grid}
        walk_job = jobspec.build_job(
            body, resolved, job_id=f"{opt_id}-wf", owner=principal.user_id,
            kind="optimization_shard", optimization_id=opt_id, param_sets=sets,
            objective=body.objective,
            walk_forward=WalkForwardSpec(
                grid={**fixed, **grid}, windows=body.walk_forward.windows,
                in_sample=body.walk_forward.train_fraction,
            ),
        )  # fmt: skip
        jobs.append(walk_job)
    doc = {
        "_id": opt_id,
        "owner": principal.user_id,
        "status": "queued",
        "strategy": body.strategy,
        "objective": body.objective,
        "grid": grid,
        "walk_forward": body.walk_forward.model_dump() if body.walk_forward else None,
        "walk_forward_job_id": walk_job.job_id if walk_job else None,
        "combinations": len(sets),
        "shards_total": len(shards),
        "shards_done": 0,
        "job_ids": job_ids,
        "submitted_at": now(),
    }
    await gw.write.optimizations.insert_one(doc)
    await gw.write.backtests.insert_many(
        [
            backtests.new_doc(
                j.job_id, principal.user_id, j.model_dump(mode="json"), kind="optimization_shard"
            )
            for j in jobs
        ]
    )
    for job in jobs:
        await gw.producer.publish(job)
    return {
        "optimization_id": opt_id,
        "status": "queued",
        "combinations": len(sets),
        "shards_total": len(shards),
        "job_ids": job_ids,
        "links": {"self": f"{API}/optimizations/{opt_id}"},
    }


async def get_doc(gw: Gateway, principal: Principal, opt_id: str) -> dict[str, Any]:
    """The caller's optimization opt_id; a 404 when it is missing or someone else's."""
    return await owned(gw.read.optimizations, "optimization", opt_id, principal.user_id)


def _score(row: dict[str, Any]) -> float:
    score = row.get("score")
    return float(score) if isinstance(score, int | float) and math.isfinite(score) else -math.inf


async def show(gw: Gateway, principal: Principal, opt_id: str, top: int = 100) -> dict[str, Any]:
    """Progress from the shard jobs, the merged ranking (best first) and, once every shard
    succeeded, the overfitting guards: three reads (and one write, the first time)."""
    doc = await get_doc(gw, principal, opt_id)
    owner = {"owner": principal.user_id}
    jobs = {
        d["_id"]: d["status"]
        async for d in gw.read.backtests.find(
            {"_id": {"$in": doc["job_ids"]}, **owner}, {"status": 1}
        )
    }
    ranking: list[dict[str, Any]] = []
    async for r in gw.read.backtest_results.find(
        {"_id": {"$in": doc["job_ids"]}, **owner}, {"ranking": 1}
    ):
        ranking += [row for row in r.get("ranking") or [] if isinstance(row, dict)]
    ranking.sort(key=_score, reverse=True)
    done = sum(1 for st in jobs.values() if st in backtests.TERMINAL)
    failed = sum(1 for st in jobs.values() if st in ("failed", "cancelled"))
    complete = all(jobs.get(j) == "succeeded" for j in doc["job_ids"])
    guards = await overfitting.of_search(gw, doc, ranking, complete)
    return {
        "id": opt_id,
        "status": _status(jobs, doc["shards_total"]),
        "strategy": doc["strategy"],
        "objective": doc["objective"],
        "combinations": doc["combinations"],
        "shards_total": doc["shards_total"],
        "shards_done": done,
        "shards_failed": failed,
        "job_ids": doc["job_ids"],
        "submitted_at": doc["submitted_at"],
        "ranking": [
            {
                "params": row.get("params") or {},
                "score": None if _score(row) == -math.inf else _score(row),
                "metrics": row.get("metrics") or {},
            }
            for row in ranking[:top]
        ],
        "guards": guards,
        "walk_forward": await _walk_forward(gw, principal, doc),
        "links": {"self": f"{API}/optimizations/{opt_id}"},
    }


async def _walk_forward(
    gw: Gateway, principal: Principal, doc: dict[str, Any]
) -> dict[str, Any] | None:
    """Status and report (per window: in-sample winner and its out-of-sample score)."""
    job_id = doc.get("walk_forward_job_id")
    if not job_id:
        return None
    owner = {"owner": principal.user_id}
    state = await gw.read.backtests.find_one({"_id": job_id, **owner}, {"status": 1, "error": 1})
    result = await gw.read.backtest_results.find_one({"_id": job_id, **owner}, {"walk_forward": 1})
    return {
        "job_id": job_id,
        "status": (state or {}).get("status", "queued"),
        "error": (state or {}).get("error"),
        "report": (result or {}).get("walk_forward"),
    }


def _status(jobs: dict[str, str], total: int) -> str:
    states = list(jobs.values())
    if len(states) < total or not states:
        return "queued"
    if all(s == "queued" for s in states):
        return "queued"
    if all(s in backtests.TERMINAL for s in states):
        if any(s == "succeeded" for s in states):
            return "succeeded"
        return "cancelled" if all(s == "cancelled" for s in states) else "failed"
    return "cancelling" if any(s == "cancelling" for s in states) else "running"


async def cancel(gw: Gateway, principal: Principal, opt_id: str) -> dict[str, Any]:
    """Cancel every unfinished shard. Raises ApiError 404 / 409."""
    doc = await get_doc(gw, principal, opt_id)
    cancelled = 0
    for job_id in doc["job_ids"]:
        try:
            await backtests.cancel(gw, principal, job_id)
            cancelled += 1
        except ApiError as exc:
            if exc.status != 409:
                raise
    if not cancelled:
        raise ApiError(409, "conflict", f"optimization {opt_id!r} already finished")
    return await show(gw, principal, opt_id)
