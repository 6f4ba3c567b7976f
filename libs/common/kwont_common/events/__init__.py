"""Typed, versioned event models: one module per topic, one shared envelope."""

from kwont_common.events.backtest_jobs import BacktestJob, Sizing, StrategyRef, WalkForwardSpec
from kwont_common.events.backtest_progress import BacktestProgress
from kwont_common.events.backtest_results import BacktestResult
from kwont_common.events.candles import Candle
from kwont_common.events.dead_letters import DeadLetter
from kwont_common.events.envelope import AccountEvent, Event, Lineage, now_ms
from kwont_common.events.fills import Fill
from kwont_common.events.funding_payments import FundingPaid
from kwont_common.events.funding_rates import FundingRate
from kwont_common.events.order_updates import OrderUpdate
from kwont_common.events.orders import Order
from kwont_common.events.portfolio_snapshots import Balance, PortfolioSnapshot, Position
from kwont_common.events.risk_rejections import RiskRejection
from kwont_common.events.signals import Signal
from kwont_common.events.ticks import Tick

__all__ = [
    "AccountEvent",
    "BacktestJob",
    "BacktestProgress",
    "BacktestResult",
    "Balance",
    "Candle",
    "DeadLetter",
    "Event",
    "Fill",
    "FundingPaid",
    "FundingRate",
    "Lineage",
    "Order",
    "OrderUpdate",
    "PortfolioSnapshot",
    "Position",
    "RiskRejection",
    "Signal",
    "Sizing",
    "StrategyRef",
    "Tick",
    "WalkForwardSpec",
    "now_ms",
]
