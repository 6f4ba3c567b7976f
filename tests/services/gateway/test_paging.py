"""Paging of the listings (``kwont_gateway.paging``): the bounds of a page and of an offset,
the 422 that says what to send instead, GraphQL's clamping, the trades cursor; then every
REST listing through the running gateway, so a route that pages on its own is caught."""

from __future__ import annotations

from typing import Any

import pytest

from kwont_gateway import paging
from kwont_gateway.errors import ApiError
from kwont_gateway.paging import Page, Paging
from tests.services.gateway.factories import Server, new_user

API = "/api/v1"
SMALL = Paging(default=10, most=50, deepest=1000)


def refusal(paging_: Paging, limit: int, offset: int = 0) -> ApiError:
    with pytest.raises(ApiError) as caught:
        paging_.check(limit, offset)
    return caught.value


def test_a_page_within_the_bounds_is_taken_as_asked() -> None:
    assert SMALL.check(1) == Page(1, 0)
    assert SMALL.check(50, 1000) == Page(50, 1000)
    assert SMALL.check(7, 3) == Page(7, 3)


@pytest.mark.parametrize(
    ("limit", "offset", "field", "says"),
    [
        (51, 0, "limit", "limit must be 1 to 50, got 51: ask for at most 50 and page on with"),
        (0, 0, "limit", "limit must be 1 to 50, got 0: ask for 1 or more, or leave limit out"),
        (-4, 0, "limit", "got -4"),
        (10, -1, "offset", "offset must be 0 to 1000, got -1: an offset counts the items to"),
        (10, 1001, "offset", "offset must be 0 to 1000, got 1001: narrow the listing with its"),
    ],
)  # fmt: skip
def test_out_of_range_is_a_422_naming_the_parameter_and_the_fix(
    limit: int, offset: int, field: str, says: str
) -> None:
    error = refusal(SMALL, limit, offset)
    assert (error.status, error.code) == (422, "invalid_request")
    assert says in error.message, error.message
    assert error.details == [{"field": field}]


def test_a_cursor_listing_says_to_follow_the_cursor_and_takes_no_offset() -> None:
    assert "at most 1000 and follow next_cursor" in refusal(paging.TRADES, 1001).message
    assert refusal(paging.TRADES, 10, 5).details == [{"field": "offset"}]
    assert refusal(paging.OPTIMIZATIONS, 51).message.endswith("ask for at most 50")


def test_graphql_clamps_a_limit_and_refuses_an_offset_past_the_deepest() -> None:
    assert SMALL.clamp(0, -5) == Page(1, 0)
    assert SMALL.clamp(5000, 7) == Page(50, 7)
    assert SMALL.clamp(20, 1000) == Page(20, 1000)
    with pytest.raises(ApiError) as caught:
        SMALL.clamp(20, 1001)
    assert caught.value.status == 422 and caught.value.details == [{"field": "offset"}]
    assert "offset must be 0 to 1000, got 1001: narrow the listing" in caught.value.message


def test_a_cursor_leads_back_to_its_offset_in_its_own_listing_only() -> None:
    assert paging.offset_of("bt_1", None, "backtest's trades") == 0
    assert paging.offset_of("bt_1", paging.cursor_at("bt_1", 37), "backtest's trades") == 37
    for bad in (paging.cursor_at("bt_2", 37), paging.cursor_at("bt_1", -1), "junk!", "e30"):
        with pytest.raises(ApiError) as caught:
            paging.offset_of("bt_1", bad, "backtest's trades")
        assert (caught.value.status, caught.value.code) == (400, "bad_cursor")
        assert "next_cursor of the previous page" in caught.value.message


LISTINGS: list[tuple[str, Paging]] = [
    ("/symbols", paging.SYMBOLS),
    ("/backtests", paging.BACKTESTS),
    ("/backtests/{job_id}/trades", paging.TRADES),
    ("/orders", paging.LEDGER),
    ("/fills", paging.LEDGER),
    ("/signals", paging.LEDGER),
    ("/risk-rejections", paging.LEDGER),
    ("/trails", paging.TRAILS),
    ("/optimizations", paging.OPTIMIZATIONS),
    ("/notifications/subscriptions/{subscription_id}/deliveries", paging.DELIVERIES),
    ("/audit", paging.AUDIT),
]


@pytest.mark.integration
async def test_every_rest_listing_pages_by_its_bounds(gateway: Server) -> None:
    _, trader = await new_user(gateway)
    async with gateway.client() as c:
        schema: dict[str, Any] = (await c.get("/openapi.json")).json()
    for template, bounds in LISTINGS:
        headers = gateway.admin_headers if template == "/audit" else trader
        operation = schema["paths"][API + template]["get"]
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        path = template.format(job_id="bt_missing", subscription_id="missing")
        assert params["limit"] == {
            "type": "integer", "minimum": 1, "maximum": bounds.most,
            "default": bounds.default, "title": "Limit",
        }, path  # fmt: skip
        assert ("offset" in params) == (bounds.deepest is not None), path
        async with gateway.client(headers) as c:
            fine = await c.get(API + path, params={"limit": bounds.most})
            assert fine.status_code in (200, 404), (path, fine.text)  # 404: the job, the sub
            over = await c.get(API + path, params={"limit": bounds.most + 1})
            assert over.status_code == 422, (path, over.text)
            message = over.json()["error"]["message"]
            assert f"limit must be 1 to {bounds.most}, got {bounds.most + 1}" in message, path
            if bounds.deepest is not None:
                assert params["offset"]["maximum"] == bounds.deepest, path
                deep = await c.get(API + path, params={"offset": bounds.deepest + 1})
                assert deep.status_code == 422, (path, deep.text)
                assert f"offset must be 0 to {bounds.deepest}" in deep.json()["error"]["message"]
                edge = await c.get(API + path, params={"offset": bounds.deepest})
                assert edge.status_code == 200, (path, edge.text)


@pytest.mark.integration
async def test_graphql_refuses_an_offset_past_the_deepest_with_rests_message(
    gateway: Server,
) -> None:
    _, trader = await new_user(gateway)
    query = "query($o: Int!) { symbols(offset: $o) { symbol } }"
    async with gateway.client(trader) as c:
        edge = await c.post("/graphql", json={"query": query, "variables": {"o": 100_000}})
        deep = await c.post("/graphql", json={"query": query, "variables": {"o": 100_001}})
    assert "errors" not in edge.json(), edge.text
    (error,) = deep.json()["errors"]
    assert error["extensions"] == {"code": "invalid_request", "status": 422}
    assert "offset must be 0 to 100000, got 100001" in error["message"]
