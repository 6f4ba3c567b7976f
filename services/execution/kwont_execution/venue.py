"""The contract every venue keeps (tests/services/execution/test_venue_contract.py runs one
suite over the paper and the Binance venue): ``place(order)`` carries out one approved
order, exactly once, and returns a :class:`Report`.

A report holds the events the order led to, in order: for a market order its fill(s),
then its final ``OrderUpdate`` (``FILLED`` with the filled quantity and average price),
then the protective legs it opened (``NEW``) or left (``CANCELED``); a refused order is
one ``REJECTED`` update with ``filled_quantity`` 0 and a reason, and no fill. Prices and
quantities are on the symbol's tick and step by the rules of
:mod:`kwont_common.trading.exchange`. ``publish`` is the part the caller publishes: the
paper venue decides and leaves all of it to the caller (published before the ``orders``
offset is committed); the Binance venue publishes as the exchange answers (its REST
answers and its user-data stream report the same orders, and go out in the order they
were stored), so it leaves none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kwont_common.events import Event, Order


@dataclass(frozen=True)
class Report:
    """What a venue made of one order (see the module docstring)."""

    events: tuple[Event, ...]
    publish: tuple[Event, ...] = ()


class Venue(Protocol):
    """A place orders are carried out (``paper``, ``binance``)."""

    async def place(self, order: Order) -> Report:
        """Carry out ``order`` once (a copy reports nothing new).

        Raises:
            TransientError: the venue or the database failed in a way worth retrying;
                placing the same order again resumes where this attempt stopped.
        """
        ...
