"""Metrics of the risk service (beside the shared consumer metrics of kwont_common)."""

from __future__ import annotations

from prometheus_client import Counter

DECISIONS = Counter(
    "kwont_risk_decisions_total",
    "Risk decisions: approved orders by leg (entry, exit) and rejections by code.",
    ["decision", "code"],
)
