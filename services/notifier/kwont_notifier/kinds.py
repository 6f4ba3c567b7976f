"""What an event is worth telling, as plain functions: from a topic's event to the notice
kinds it carries and the words of the message. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kwont_common.events import BacktestResult, Fill, RiskRejection
from kwont_common.notification_kinds import NotificationKind

Kind = NotificationKind
JOB_KINDS = ("backtest_finished", "optimization_finished")
"""Kinds about a user's jobs, not an account: they go to every subscription of the job's
owner that lists them, whatever its account or deployment."""

TRIPS = ("max_daily_loss", "max_drawdown")
"""Risk-rejection codes whose refusal trips the account's kill switch (kwont_risk.rules)."""


@dataclass(frozen=True)
class Notice:
    """One event to tell: its id (the idempotency key), kinds, whom it concerns and what to
    say. ``account`` is set for trading events, ``job_id`` for jobs."""

    event_id: str
    kinds: tuple[str, ...]
    text: str
    event_time: int
    data: dict[str, Any] = field(default_factory=dict)
    account: str | None = None
    job_id: str | None = None
    deployment_id: str | None = None


def of_fill(fill: Fill) -> Notice:
    """A fill is a ``fill``, and also a ``stop_loss``, ``take_profit`` or ``liquidation``
    when its exit reason says so."""
    kinds: tuple[str, ...] = ("fill",)
    what = "filled"
    if fill.exit_reason in ("stop_loss", "take_profit", "liquidation"):
        kinds = ("fill", fill.exit_reason)
        what = {"stop_loss": "stop-loss hit", "take_profit": "take-profit hit"}.get(
            fill.exit_reason, "liquidated"
        )
    text = (
        f"{fill.account}: {fill.symbol} {what}: {fill.side} {fill.quantity} @ {fill.price} "
        f"(fee {fill.fee} {fill.fee_asset}, {fill.venue})"
    )
    return Notice(
        str(fill.event_id), kinds, text, fill.event_time, fill.model_dump(mode="json"),
        account=fill.account,
    )  # fmt: skip


def of_rejection(rejection: RiskRejection) -> Notice:
    """A refusal is a ``risk_rejection``; one that trips the kill switch is also a
    ``kill_switch``."""
    data = rejection.model_dump(mode="json")
    if rejection.code in TRIPS:
        text = (
            f"{rejection.account}: kill switch tripped ({rejection.code}) on "
            f"{rejection.symbol}: {rejection.reason}"
        )
        kinds: tuple[str, ...] = ("kill_switch", "risk_rejection")
    else:
        text = (
            f"{rejection.account}: {rejection.symbol} signal refused ({rejection.code}): "
            f"{rejection.reason}"
        )
        kinds = ("risk_rejection",)
    return Notice(
        str(rejection.event_id), kinds, text, rejection.event_time, data,
        account=rejection.account,
    )  # fmt: skip


def of_result(result: BacktestResult) -> Notice | None:
    """A finished backtest; ``None`` for a grid shard (its optimisation is told once, when
    the last shard is in: :func:`of_optimization`)."""
    if result.optimization_id is not None:
        return None
    text = f"backtest {result.job_id} {result.status}"
    if result.status == "succeeded":
        text += f": {result.trade_count} trades, final equity {result.final_equity}"
    elif result.error:
        text += f": {result.error}"
    return Notice(
        str(result.event_id), ("backtest_finished",), text, result.event_time,
        result.model_dump(mode="json"), job_id=result.job_id,
    )  # fmt: skip


def of_optimization(event_id: str, opt_id: str, statuses: dict[str, str], time_ms: int) -> Notice:
    """An optimisation whose shards all finished (``statuses``: job id -> status)."""
    ok = sum(1 for s in statuses.values() if s == "succeeded")
    text = f"optimization {opt_id} finished: {ok} of {len(statuses)} shards succeeded"
    data = {"optimization_id": opt_id, "shards": statuses}
    return Notice(event_id, ("optimization_finished",), text, time_ms, data, job_id=opt_id)


def of_deployment_error(event_id: str, dep: dict[str, Any], message: str, time_ms: int) -> Notice:
    """A deployment's strategy failed (its ``last_error``, as the strategy service wrote it)."""
    text = f"{dep['account']}: deployment {dep['_id']} ({dep.get('strategy')}) error: {message}"
    data = {"deployment_id": dep["_id"], "account": dep["account"], "error": message}
    return Notice(
        event_id, ("deployment_error",), text, time_ms, data,
        account=dep["account"], deployment_id=dep["_id"],
    )  # fmt: skip


def digest_text(items: list[dict[str, Any]], max_lines: int = 20) -> str:
    """A digest's words: how many of each kind, then the first ``max_lines`` messages (a
    Telegram message holds 4096 characters; a webhook digest carries every item in full)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    head = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    lines = [f"digest: {len(items)} notifications held back by the rate limit ({head})"[:1000]]
    size = len(lines[0])
    for item in items[:max_lines]:
        line = f"- {item['text']}"[:500]
        if size + len(line) > 3900:
            break
        lines.append(line)
        size += len(line) + 1
    if len(items) > len(lines) - 1:
        lines.append(f"... and {len(items) - (len(lines) - 1)} more")
    return "\n".join(lines)
