"""The documents of risk's books: their form in memory, their snapshot and the API's view.

The state of partition ``p`` is ``{account: book document}`` for the accounts whose inputs
are on ``p`` (fields in :mod:`kwont_risk.state`, plus ``seen``: booked fill ids, and
``decided``: a signal's orders and rejection, for a re-delivery). It is snapshotted behind
the hot path (collection ``risk_state``, one document per partition with its input
offsets). What the API reads, ``risk_books`` (one document per account: kill switch,
ledger, marks, equity levels, in-flight orders), is :func:`view` of a book.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kwont_common.state import PartitionStore

COLLECTION = "risk_books"
STATE = "risk_state"
KEEP = 1000
"""Booked fill ids and decided signals a book remembers (redeliveries come within seconds)."""
PRIVATE = ("_id", "seen", "decided", "done")
"""Fields of the in-memory book that the API's ``risk_books`` view leaves out."""

Books = dict[str, dict[str, Any]]


def set_fields(doc: dict[str, Any], fields: dict[str, Any]) -> None:
    """Set ``fields`` (dotted paths into sub-documents) on ``doc`` in place, as copies."""
    for path, value in fields.items():
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = copy.deepcopy(value)


def setter(doc: dict[str, Any], fields: dict[str, Any]) -> Callable[[Books], None]:
    """The change of :func:`set_fields` as a partition store applies it (to one book)."""
    return lambda _books: set_fields(doc, fields)


def new_store(collection: Any, group: str, flush_every_s: float) -> PartitionStore[Books]:
    """The partition store of risk's books (snapshots in ``risk_state``)."""
    return PartitionStore(
        collection, group, new=dict, dump=lambda books: {"books": copy.deepcopy(books)},
        load=lambda doc: dict(doc.get("books") or {}), flush_every_s=flush_every_s,
    )  # fmt: skip


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """The account's ``risk_books`` document: the book without its private fields, a copy."""
    return copy.deepcopy({k: v for k, v in doc.items() if k not in PRIVATE})


def decided_field(doc: dict[str, Any], signal_hex: str, what: dict[str, Any]) -> dict[str, Any]:
    """The ``decided`` field with ``what`` merged into the signal's entry (oldest dropped)."""
    decided = dict(doc.get("decided") or {})
    decided[signal_hex] = {**(decided.pop(signal_hex, None) or {}), **what}
    return {"decided": dict(list(decided.items())[-KEEP:])}
