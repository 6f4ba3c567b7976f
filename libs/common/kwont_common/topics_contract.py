"""Who publishes and who consumes each topic, and how its event ids are made.

The registry (:mod:`kwont_common.topics`) says what a topic carries; this table says who is
on either end. ``kwont-schemas docs`` renders both into docs/contract.md, and
tests/libs/common/test_topics_doc.py holds the table to the code: every producer file must
build the topic's model, every consumer file must subscribe to the topic, and every model
built or topic subscribed to anywhere under services/ must be in the table (or in
:data:`BUILT_NOT_PUBLISHED`), so the table cannot silently rot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class End:
    """One end of a topic: a service and the file where it builds or subscribes."""

    service: str
    path: str
    """Repository-relative file; a producer builds the model there, a consumer names the
    topic there (a handler key, ``topic("name")`` or a list of subscribed names)."""
    how: str = ""
    """A producer: when it publishes. A consumer: its group and delivery."""


@dataclass(frozen=True)
class TopicContract:
    """The ends of one topic and the rule its event ids follow."""

    producers: tuple[End, ...]
    consumers: tuple[End, ...]
    event_id: str
    unconsumed: str = ""
    """Why no service consumes the topic, when none does."""


_MD = "services/marketdata/kwont_marketdata"
_ST = "services/strategy/kwont_strategy"
_RK = "services/risk/kwont_risk"
_EX = "services/execution/kwont_execution"
_PF = "services/portfolio/kwont_portfolio"
_GW = "services/gateway/kwont_gateway"
_BR = "services/backtest-runner/kwont_backtest_runner"
_NT = "services/notifier/kwont_notifier"

_PUSH = End(
    "gateway", f"{_GW}/push.py", "push feed: a group per replica, from the end, auto-commit"
)
_RISK_BOOK = "group `kwont-risk`, at-least-once"
_NOTIFY = End(
    "notifier", f"{_NT}/main.py", "group `kwont-notifier`, at-least-once, deliveries deduped"
)

CONTRACTS: dict[str, TopicContract] = {
    "ticks": TopicContract(
        producers=(End("marketdata", f"{_MD}/binance_stream.py", "feed `binance` (aggTrades)"),),
        consumers=(
            End(
                "marketdata",
                f"{_MD}/tick_candles.py",
                "group `kwont-marketdata-tick-candles`, when `KWONT_TICK_CANDLE_INTERVALS` is set",
            ),
            End(
                "execution",
                f"{_EX}/ticks.py",
                "no group, from the end, when `KWONT_PAPER_TICKS` (latest price per symbol)",
            ),
            End(
                "portfolio",
                f"{_PF}/main.py",
                "a group per process (`kwont-portfolio-marks-<random>`, every replica reads all), "
                "from `KWONT_MARKS_LOOKBACK_S` back, when `KWONT_MARKS_FROM_TICKS`",
            ),
        ),
        event_id="uuid5 of (`tick`, feed, symbol, aggregate trade id)",
    ),
    "candles": TopicContract(
        producers=(
            End(
                "marketdata",
                f"{_MD}/outlet.py",
                "every feed and the tick aggregator; stored in `ohlcv.candles` first",
            ),
        ),
        consumers=(
            End("strategy", f"{_ST}/main.py", "group `kwont-strategy`, at-least-once"),
            End(
                "execution",
                f"{_EX}/paper_checks.py",
                "every replica, no group, from the start (paper stops of its partitions)",
            ),
            End(
                "portfolio",
                f"{_PF}/main.py",
                "a group per process (`kwont-portfolio-marks-<random>`, "
                "every replica reads all), from `KWONT_MARKS_LOOKBACK_S` back",
            ),
            _PUSH,
        ),
        event_id="uuid5 of (`candle`, feed, symbol, interval, open time)",
    ),
    "signals": TopicContract(
        producers=(End("strategy", f"{_ST}/signals.py", "a deployment's entry or exit"),),
        consumers=(
            End(
                "risk", f"{_RK}/main.py", "group `kwont-risk`, at-least-once, an account's in order"
            ),
            _PUSH,
        ),
        event_id="uuid5 of (`signal`, deployment, symbol, interval, candle open time); "
        "`correlation_id` = `event_id`",
    ),
    "orders": TopicContract(
        producers=(End("risk", f"{_RK}/orders.py", "an approved signal's entry or closing leg"),),
        consumers=(
            End(
                "execution",
                f"{_EX}/main.py",
                "group `kwont-execution`, at-least-once, per `account:SYMBOL` in order",
            ),
        ),
        event_id="uuid5 of the client order id `k<leg>-<signal id hex>`",
    ),
    "fills": TopicContract(
        producers=(
            End("execution", f"{_EX}/paper.py", "venue `paper`"),
            End("execution", f"{_EX}/binance_reports.py", "venue `binance` (trade reports)"),
        ),
        consumers=(
            End("risk", f"{_RK}/main.py", _RISK_BOOK),
            End("portfolio", f"{_PF}/main.py", "group `kwont-portfolio`, at-least-once"),
            _NOTIFY,
            _PUSH,
        ),
        event_id="paper: uuid5 of (`paper`, `fill`, trade id `paper-<client order id>`); "
        "binance: uuid5 of (`binance`, the exchange's trade id)",
    ),
    "funding": TopicContract(
        producers=(
            End(
                "marketdata",
                f"{_MD}/outlet.py",
                "feed `synthetic` at each funding time; stored in `ohlcv.funding` first",
            ),
        ),
        consumers=(
            End(
                "execution",
                f"{_EX}/paper_funding.py",
                "every replica, no group, from the start (funding of its partitions' paper "
                "positions)",
            ),
        ),
        event_id="uuid5 of (`funding`, feed, symbol, funding time)",
    ),
    "funding-payments": TopicContract(
        producers=(
            End("execution", f"{_EX}/paper_funding.py", "venue `paper`, at each funding time"),
        ),
        consumers=(
            End(
                "portfolio",
                f"{_PF}/main.py",
                "group `kwont-portfolio` (with `fills`), at-least-once, deduped by payment",
            ),
        ),
        event_id="uuid5 of (`paper`, `funding`, the position's entry order id, funding time)",
    ),
    "order-updates": TopicContract(
        producers=(
            End("execution", f"{_EX}/paper.py", "venue `paper`"),
            End("execution", f"{_EX}/binance_reports.py", "venue `binance`"),
            End("execution", f"{_EX}/main.py", "REJECTED: the order's venue is not enabled"),
            End(
                "execution",
                f"{_EX}/binance_accounts.py",
                "REJECTED: the account has no key pair, another user's, or a revoked one",
            ),
        ),
        consumers=(End("risk", f"{_RK}/main.py", _RISK_BOOK),),
        event_id="paper and refusals: uuid5 of (venue, `order-update`, client order id, status); "
        "binance: uuid5 of (`binance`, client order id, status, filled quantity)",
    ),
    "risk-rejections": TopicContract(
        producers=(End("risk", f"{_RK}/orders.py", "a refused signal"),),
        consumers=(_NOTIFY,),
        event_id="uuid5 of (`risk-rejection`, signal id): one per signal",
    ),
    "backtest-jobs": TopicContract(
        producers=(
            End(
                "gateway",
                f"{_GW}/jobspec.py",
                "`POST /backtests`; `POST /optimizations`: "
                "each grid shard and the walk-forward job",
            ),
            End("gateway", f"{_GW}/divergence.py", "`POST /deployments/{id}/divergence`"),
        ),
        consumers=(
            End(
                "backtest-runner",
                f"{_BR}/main.py",
                "group `kwont-backtest-runner`, at-least-once, one job at a time",
            ),
        ),
        event_id="random; the runner dedupes by `job_id` "
        "(a finished job re-publishes its stored result)",
    ),
    "backtest-progress": TopicContract(
        producers=(End("backtest-runner", f"{_BR}/jobs.py", "the sandbox's progress lines"),),
        consumers=(_PUSH,),
        event_id="random (progress is news, never deduped)",
    ),
    "backtest-results": TopicContract(
        producers=(
            End("backtest-runner", f"{_BR}/results.py", "after storing the result"),
            End("gateway", f"{_GW}/backtests.py", "a resubmission answered from the cache"),
        ),
        consumers=(_NOTIFY, _PUSH),
        event_id="uuid5 of `kwont:backtest-result:<job_id>`",
    ),
    "portfolio-snapshots": TopicContract(
        producers=(
            End(
                "portfolio",
                f"{_PF}/snapshot.py",
                "after each booked fill; after marks at most once per "
                "account per `KWONT_SNAPSHOT_INTERVAL_S`",
            ),
        ),
        consumers=(
            End("risk", f"{_RK}/main.py", "group `kwont-risk`, `latest_only` per account"),
            _PUSH,
        ),
        event_id="uuid5 of (`snapshot`, account, document version)",
    ),
    "dead-letter": TopicContract(
        producers=(
            End(
                "every consumer",
                "libs/common/kwont_common/kafka/failures.py",
                "`EventConsumer`: undecodable, invalid or failing after retries; "
                "marketdata's tick candles: undecodable ticks",
            ),
        ),
        consumers=(),
        event_id="random",
        unconsumed="for operators: the error and the original bytes (base64)",
    ),
}
"""Topic base name (``dead-letter`` for every ``<topic>.dlq``) -> its contract."""

BUILT_NOT_PUBLISHED: dict[tuple[str, str], str] = {
    (f"{_RK}/orders.py", "Fill"): "the fill risk expects the paper venue to make (sizing)",
    ("libs/quant/kwont_quant/engine.py", "BacktestResult"): "the engine's own result object",
}
"""(file, model) pairs that build a topic's model without publishing it, and why."""
