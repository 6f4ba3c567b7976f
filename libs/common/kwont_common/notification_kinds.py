"""The kinds of event the notifier tells, shared by the gateway (what a subscription may
ask for) and the notifier (what it sends)."""

from typing import Literal, get_args

NotificationKind = Literal[
    "fill",
    "stop_loss",
    "take_profit",
    "liquidation",
    "kill_switch",
    "risk_rejection",
    "deployment_error",
    "backtest_finished",
    "optimization_finished",
]
KINDS: tuple[str, ...] = get_args(NotificationKind)
