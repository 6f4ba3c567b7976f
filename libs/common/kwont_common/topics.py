"""The one registry of topics: name -> model -> key.

Topic names are part of the contract between the services (docs/contract.md, whose topic
table is generated from this registry and :mod:`kwont_common.topics_contract`); a deployment
may prefix them all (``KWONT_TOPIC_PREFIX``). Each topic has a dead-letter topic
``<topic>.dlq`` carrying ``DeadLetter`` events.
"""

from __future__ import annotations

from dataclasses import dataclass

from kwont_common import events as ev

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    """A topic's base name, its model and how its key is formed (the model's ``key()``);
    ``copartitioned``: keyed by account first, its partition is chosen from the account
    (:mod:`kwont_common.kafka.partitioning`), so one account's records share one partition
    number on every such topic."""

    name: str
    model: type[ev.Event]
    key_rule: str
    copartitioned: bool = False

    def full_name(self, prefix: str = "") -> str:
        """The name on the broker, with the deployment prefix."""
        return f"{prefix}{self.name}"

    def dlq_name(self, prefix: str = "") -> str:
        """The dead-letter topic of this topic."""
        return f"{prefix}{self.name}{DLQ_SUFFIX}"


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic("ticks", ev.Tick, "SYMBOL"),
        Topic("candles", ev.Candle, "SYMBOL:interval"),
        Topic("signals", ev.Signal, "account:SYMBOL", copartitioned=True),
        Topic("orders", ev.Order, "account:SYMBOL", copartitioned=True),
        Topic("fills", ev.Fill, "account:SYMBOL", copartitioned=True),
        Topic("funding", ev.FundingRate, "SYMBOL"),
        Topic("funding-payments", ev.FundingPaid, "account:SYMBOL", copartitioned=True),
        Topic("order-updates", ev.OrderUpdate, "account:SYMBOL", copartitioned=True),
        Topic("risk-rejections", ev.RiskRejection, "account:SYMBOL", copartitioned=True),
        Topic("backtest-jobs", ev.BacktestJob, "job_id"),
        Topic("backtest-progress", ev.BacktestProgress, "job_id"),
        Topic("backtest-results", ev.BacktestResult, "job_id"),
        Topic("portfolio-snapshots", ev.PortfolioSnapshot, "account", copartitioned=True),
    )
}

DEAD_LETTER = Topic("dead-letter", ev.DeadLetter, "original key")
"""Not a topic name: the model shared by every ``<topic>.dlq``."""

_BY_MODEL: dict[type[ev.Event], Topic] = {t.model: t for t in TOPICS.values()}


def topic(name: str) -> Topic:
    """The registered topic of that base name.

    Raises:
        KeyError: with the known names, when ``name`` is not a topic.
    """
    try:
        return TOPICS[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; known: {', '.join(TOPICS)}") from None


def topic_of(model: type[ev.Event]) -> Topic:
    """The topic a model is published on.

    Raises:
        KeyError: when the model is not registered to a topic.
    """
    for cls in model.__mro__:
        if cls in _BY_MODEL:
            return _BY_MODEL[cls]
    raise KeyError(f"{model.__name__} is not registered to a topic")


def copartitioned_names(prefix: str = "") -> list[str]:
    """The co-partitioned topics as named on the broker: they must share one partition count."""
    return [t.full_name(prefix) for t in TOPICS.values() if t.copartitioned]


def all_topic_names(prefix: str = "") -> list[str]:
    """Every topic and its dead-letter topic, as created on the broker."""
    names: list[str] = []
    for t in TOPICS.values():
        names += [t.full_name(prefix), t.dlq_name(prefix)]
    return names
