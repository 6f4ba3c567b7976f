"""Live-versus-backtest divergence: align two trade lists and attribute the PnL gap.

Pure functions, no I/O. The live side comes from recorded fills
(:func:`kwont_quant.divergence_trades.round_trips`), the backtest side from re-running the
deployment's strategy version and parameters on the candles stored for the same range
(:func:`kwont_quant.divergence_trades.from_backtest`). Every amount is a ``Decimal``, so
the attribution adds up exactly:

    total gap = slippage + size + fees + funding + missed + extra

where, per matched pair (live ``L``, backtest ``B``, direction ``d`` = +1 long, -1 short),
``slippage`` = d*((L.exit-B.exit) - (L.entry-B.entry))*L.qty, ``size`` =
d*(B.exit-B.entry)*(L.qty-B.qty), ``fees`` = B.fees - L.fees, ``funding`` = B.funding -
L.funding; a backtest trade live never made adds ``missed`` = -B.pnl, a live trade the
backtest never made adds ``extra`` = +L.pnl.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

ZERO = Decimal(0)
CENT = Decimal("0.01")
COMPONENTS = ("slippage", "size", "fees", "funding", "missed", "extra")
# Float-derived prices and quantities have ~17 significant digits each, so their products
# overflow Decimal's default 28: every computation here runs at this precision instead.
EXACT = Context(prec=120)


@dataclass(frozen=True)
class Trade:
    """One round trip: opened at ``entry_*``, closed at ``exit_*``; money in quote units."""

    symbol: str
    side: str  # "long" | "short"
    entry_time_ms: int
    exit_time_ms: int
    entry_price: Decimal
    exit_price: Decimal
    qty: Decimal
    fees: Decimal = ZERO
    funding: Decimal = ZERO  # paid (positive) or received (negative); 0 until funding exists

    def __post_init__(self) -> None:
        if self.side not in ("long", "short"):
            raise ValueError(f"side must be 'long' or 'short', got {self.side!r}")
        if self.qty <= 0:
            raise ValueError(f"qty must be positive, got {self.qty}")

    @property
    def direction(self) -> int:
        """+1 for a long, -1 for a short."""
        return 1 if self.side == "long" else -1

    @property
    def gross(self) -> Decimal:
        """PnL from the prices alone, before fees and funding."""
        with localcontext(EXACT):
            return self.direction * (self.exit_price - self.entry_price) * self.qty

    @property
    def pnl(self) -> Decimal:
        """Net PnL: ``gross`` minus fees and funding."""
        with localcontext(EXACT):
            return self.gross - self.fees - self.funding


@dataclass(frozen=True)
class Event:
    """A stored record that can explain a one-sided trade.

    ``kind``: ``risk_rejection``, ``kill_switch``, ``kill_switch_reset``, ``late_candle`` or
    ``restart``; ``symbol`` empty means the whole deployment."""

    time_ms: int
    kind: str
    detail: str = ""
    symbol: str = ""


@dataclass(frozen=True)
class MatchedTrade:
    """A live trade paired with its backtest trade, and how they differ (see :func:`compare`)."""

    live: Trade
    backtest: Trade
    entry_delay_ms: int
    exit_delay_ms: int
    entry_slippage: Decimal  # live - backtest fill price, quote per unit
    exit_slippage: Decimal
    slippage: Decimal  # PnL effect of the price differences, at the live quantity
    size: Decimal  # PnL effect of a different quantity, at the backtest's prices
    fees: Decimal  # backtest fees - live fees (negative: live paid more)
    funding: Decimal
    pnl_gap: Decimal  # live pnl - backtest pnl = slippage + size + fees + funding


@dataclass(frozen=True)
class OneSided:
    """A trade on one side only, with the stored event that may explain it."""

    trade: Trade
    side: str  # "backtest_only" (missed live) | "live_only" (extra live)
    reason: str  # the explaining event, or "unknown"
    detail: str
    pnl_gap: Decimal  # -backtest pnl for a missed trade, +live pnl for an extra one


@dataclass(frozen=True)
class Report:
    """The result of :func:`divergence`: matched pairs, one-sided trades, each side's PnL
    and the gap split into :data:`COMPONENTS`.
    """

    matched: list[MatchedTrade]
    missed: list[OneSided]
    extra: list[OneSided]
    live_pnl: Decimal
    backtest_pnl: Decimal
    components: dict[str, Decimal] = field(default_factory=dict)

    @property
    def matched_share(self) -> Decimal:
        """Matched pairs over all trades of either side, counted once per pair (1 = all)."""
        n = len(self.matched) + len(self.missed) + len(self.extra)
        return Decimal(1) if n == 0 else Decimal(len(self.matched)) / n

    @property
    def total_gap(self) -> Decimal:
        """Live PnL minus backtest PnL; the components add up to it exactly."""
        with localcontext(EXACT):
            return self.live_pnl - self.backtest_pnl

    def summary_cents(self) -> dict[str, Decimal]:
        """The components rounded to the cent so that they still add up to the total gap
        rounded to the cent (largest remainder: the rounding difference goes to the
        components that lost the most in rounding, never more than a cent each)."""
        return round_to_total(self.components, self.total_gap)


def _match(live: Sequence[Trade], bt: Sequence[Trade], tolerance_ms: int) -> list[tuple[int, int]]:
    """Pairs (live index, backtest index): same symbol and side, entries at most
    ``tolerance_ms`` apart, each trade used once, nearest entries first (ties: earliest)."""
    candidates = sorted(
        (abs(lv.entry_time_ms - b.entry_time_ms), b.entry_time_ms, i, j)
        for i, lv in enumerate(live)
        for j, b in enumerate(bt)
        if lv.symbol == b.symbol
        and lv.side == b.side
        and abs(lv.entry_time_ms - b.entry_time_ms) <= tolerance_ms
    )
    used_l: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, _, i, j in candidates:
        if i not in used_l and j not in used_b:
            used_l.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs, key=lambda p: bt[p[1]].entry_time_ms)


def compare(lv: Trade, b: Trade) -> MatchedTrade:
    """The differences of one matched pair; ``slippage + size + fees + funding`` equals
    ``lv.pnl - b.pnl`` exactly."""
    with localcontext(EXACT):
        return _compare(lv, b)


def _compare(lv: Trade, b: Trade) -> MatchedTrade:
    d = lv.direction
    slippage = d * ((lv.exit_price - b.exit_price) - (lv.entry_price - b.entry_price)) * lv.qty
    size = d * (b.exit_price - b.entry_price) * (lv.qty - b.qty)
    return MatchedTrade(
        live=lv,
        backtest=b,
        entry_delay_ms=lv.entry_time_ms - b.entry_time_ms,
        exit_delay_ms=lv.exit_time_ms - b.exit_time_ms,
        entry_slippage=lv.entry_price - b.entry_price,
        exit_slippage=lv.exit_price - b.exit_price,
        slippage=slippage,
        size=size,
        fees=b.fees - lv.fees,
        funding=b.funding - lv.funding,
        pnl_gap=lv.pnl - b.pnl,
    )


def explain(trade: Trade, events: Sequence[Event], window_ms: int) -> tuple[str, str]:
    """Why a trade exists on one side only: a kill switch tripped before its entry and not
    reset since, else the nearest risk rejection, late candle or restart within
    ``window_ms`` of its entry (same symbol or deployment-wide); else ``unknown``."""
    mine = sorted((e for e in events if e.symbol in ("", trade.symbol)), key=lambda e: e.time_ms)
    switch: Event | None = None
    for e in mine:
        if e.time_ms > trade.entry_time_ms:
            break
        if e.kind == "kill_switch":
            switch = e
        elif e.kind == "kill_switch_reset":
            switch = None
    if switch is not None:
        return switch.kind, switch.detail
    near = [
        e
        for e in mine
        if e.kind in ("risk_rejection", "late_candle", "restart")
        and abs(e.time_ms - trade.entry_time_ms) <= window_ms
    ]
    if not near:
        return "unknown", ""
    best = min(near, key=lambda e: (abs(e.time_ms - trade.entry_time_ms), e.time_ms))
    return best.kind, best.detail


def divergence(
    live: Sequence[Trade],
    backtest: Sequence[Trade],
    events: Sequence[Event] = (),
    *,
    tolerance_ms: int = 60_000,
) -> Report:
    """Align ``live`` with ``backtest`` and attribute the PnL gap (see the module doc).

    ``tolerance_ms`` (one bar is a good value) is how far apart two entries may be and
    still be the same trade, and how far from an entry an event may be to explain it."""
    if tolerance_ms < 0:
        raise ValueError(f"tolerance_ms must be >= 0, got {tolerance_ms}")
    with localcontext(EXACT):
        return _divergence(live, backtest, events, tolerance_ms)


def _divergence(
    live: Sequence[Trade], backtest: Sequence[Trade], events: Sequence[Event], tolerance_ms: int
) -> Report:
    pairs = _match(live, backtest, tolerance_ms)
    matched = [compare(live[i], backtest[j]) for i, j in pairs]
    used_l = {i for i, _ in pairs}
    used_b = {j for _, j in pairs}
    missed = []
    for j, b in enumerate(backtest):
        if j not in used_b:
            reason, detail = explain(b, events, tolerance_ms)
            missed.append(OneSided(b, "backtest_only", reason, detail, -b.pnl))
    extra = []
    for i, lv in enumerate(live):
        if i not in used_l:
            reason, detail = explain(lv, events, tolerance_ms)
            extra.append(OneSided(lv, "live_only", reason, detail, lv.pnl))
    components = {
        "slippage": sum((m.slippage for m in matched), ZERO),
        "size": sum((m.size for m in matched), ZERO),
        "fees": sum((m.fees for m in matched), ZERO),
        "funding": sum((m.funding for m in matched), ZERO),
        "missed": sum((o.pnl_gap for o in missed), ZERO),
        "extra": sum((o.pnl_gap for o in extra), ZERO),
    }
    return Report(
        matched=matched,
        missed=missed,
        extra=extra,
        live_pnl=sum((t.pnl for t in live), ZERO),
        backtest_pnl=sum((t.pnl for t in backtest), ZERO),
        components=components,
    )


def round_to_total(parts: dict[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    """``parts`` rounded to the cent, adjusted by whole cents so they sum to ``total``
    rounded to the cent (largest remainder method)."""
    with localcontext(EXACT):
        return _round_to_total(parts, total)


def _round_to_total(parts: dict[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    target = total.quantize(CENT, rounding=ROUND_HALF_EVEN)
    floors = {
        k: (v / CENT).to_integral_value(rounding="ROUND_FLOOR") * CENT for k, v in parts.items()
    }
    short = int((target - sum(floors.values(), ZERO)) / CENT)
    order = sorted(
        parts,
        key=lambda k: (-(parts[k] - floors[k]), COMPONENTS.index(k) if k in COMPONENTS else 99),
    )
    out = dict(floors)
    for k in order[: max(short, 0)]:
        out[k] += CENT
    for k in list(reversed(order))[: max(-short, 0)]:
        out[k] -= CENT
    return out
