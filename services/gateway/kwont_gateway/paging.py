"""Paging of every listing, in one place: how many items a page may hold, how deep an
``offset`` may go, and the opaque cursor of the backtest trades.

A REST route reads its ``limit`` (and ``offset``) through :func:`query`, which refuses a
value out of range with a 422 ``invalid_request`` that says what to send instead; the
OpenAPI schema still shows the bounds, so a client can see them. A GraphQL resolver calls
:meth:`Paging.clamp`: an out-of-range ``limit`` is brought into range there, as it
always was; an ``offset`` past the deepest is refused with the same message as REST's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from kwont_gateway.errors import ApiError, invalid


@dataclass(frozen=True)
class Page:
    """One page asked for: at most ``limit`` items after skipping ``offset``."""

    limit: int
    offset: int = 0


@dataclass(frozen=True)
class Paging:
    """The paging of one kind of listing."""

    default: int
    """The page size when the caller names none."""
    most: int
    """The largest page."""
    deepest: int | None = 100_000
    """The largest ``offset``; None: the listing takes no offset (one page, or a cursor)."""
    cursor: bool = False
    """The listing continues by ``next_cursor`` (see :func:`cursor_at`)."""

    def problem(self, limit: int, offset: int = 0) -> tuple[str, str] | None:
        """``(parameter, message)`` when ``limit`` or ``offset`` is out of range, else None."""
        if not 1 <= limit <= self.most:
            advice = (
                f"ask for at most {self.most}{self._onwards()}"
                if limit > self.most
                else f"ask for 1 or more, or leave limit out for {self.default}"
            )
            return "limit", f"limit must be 1 to {self.most}, got {limit}: {advice}"
        deepest = self.deepest or 0
        if not 0 <= offset <= deepest:
            advice = (
                "an offset counts the items to skip, from 0"
                if offset < 0
                else "narrow the listing with its filters to reach older items"
            )
            return "offset", f"offset must be 0 to {deepest}, got {offset}: {advice}"
        return None

    def _onwards(self) -> str:
        if self.deepest is not None:
            return " and page on with offset"
        return " and follow next_cursor" if self.cursor else ""

    def check(self, limit: int, offset: int = 0) -> Page:
        """The page asked for.

        Raises:
            ApiError: 422 ``invalid_request`` naming the parameter out of range and what to
                send instead.
        """
        found = self.problem(limit, offset)
        if found is not None:
            raise invalid(found[1], found[0])
        return Page(limit, offset)

    def clamp(self, limit: int, offset: int = 0) -> Page:
        """The page of a GraphQL argument: ``limit`` brought into 1..most and a negative
        ``offset`` to 0, as GraphQL always did; an ``offset`` deeper than ``deepest`` is
        refused as REST refuses it (a deep skip costs the database a scan of every item
        it skips, and quietly moving it would answer another page than the one asked for).

        Raises:
            ApiError: 422 ``invalid_request`` naming ``offset`` and what to send instead.
        """
        page = Page(max(1, min(limit, self.most)), max(0, offset))
        found = self.problem(page.limit, page.offset)
        if found is not None:
            raise invalid(found[1], found[0])
        return page


SYMBOLS = Paging(default=100, most=500)
BACKTESTS = Paging(default=50, most=200)
LEDGER = Paging(default=100, most=1000)
"""Orders, fills, signals and risk rejections."""
TRAILS = Paging(default=20, most=100)
AUDIT = Paging(default=50, most=200, deepest=1_000_000)
OPTIMIZATIONS = Paging(default=20, most=50, deepest=None)
DELIVERIES = Paging(default=50, most=500, deepest=None)
TRADES = Paging(default=100, most=1000, deepest=None, cursor=True)


def _bounded(low: int, high: int) -> Any:
    """An integer query parameter whose schema shows its bounds (checked by :meth:`check`)."""
    return Annotated[int, Query(json_schema_extra={"minimum": low, "maximum": high})]


@functools.cache
def query(paging: Paging) -> Any:
    """The FastAPI dependency that reads a listing's ``limit`` (and ``offset``, when it
    takes one) as a :class:`Page`; use it as ``Annotated[Page, query(LEDGER)]``."""

    def read(limit: int, offset: int = 0) -> Page:
        return paging.check(limit, offset)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("limit", keyword, default=paging.default,
                                annotation=_bounded(1, paging.most))]  # fmt: skip
    if paging.deepest is not None:
        params.append(
            inspect.Parameter("offset", keyword, default=0, annotation=_bounded(0, paging.deepest))
        )
    read.__signature__ = inspect.Signature(params, return_annotation=Page)  # type: ignore[attr-defined]
    return Depends(read)


def cursor_at(scope: str, offset: int) -> str:
    """The opaque cursor of the page that starts at ``offset`` of the listing ``scope``."""
    raw = json.dumps({"job": scope, "at": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def offset_of(scope: str, cursor: str | None, what: str) -> int:
    """Where a cursor of :func:`cursor_at` continues (0 without one).

    Raises:
        ApiError: 400 ``bad_cursor``: not a cursor of ``scope`` (``what`` names the listing).
    """
    if cursor is None:
        return 0
    bad = ApiError(400, "bad_cursor", f"cursor {cursor[:40]!r} is not a cursor of this "
                   f"{what}: pass the next_cursor of the previous page, or no cursor "
                   "for the first page")  # fmt: skip
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(doc, dict) or doc.get("job") != scope:
        raise bad
    at = doc.get("at")
    if not isinstance(at, int) or isinstance(at, bool) or at < 0:
        raise bad
    return at
