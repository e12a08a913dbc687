"""The listing query stays an index range scan of about `limit` rows for a user with 100,000 todos,
on the first page and 50,000 rows deep, filtered or not: no sequential scan, no sort."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import ClauseElement, Executable, Select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from shared.pagination import Position
from shared.testing import components_of
from todos_service.components import Components
from todos_service.repository import page_query
from todos_service.schemas import TodoFilters

TODOS = "/api/v1/todos"
ROWS = 100_000
DEPTH = 50_000
LIMIT = 20
FETCHED = LIMIT + 1  # the service asks for one more row to know whether a page follows

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Sessions = async_sessionmaker[AsyncSession]
Plan = dict[str, Any]


class Explain(Executable, ClauseElement):
    """`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of a statement, with its own bound parameters."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + compiler.process(element.statement, **kw)


def nodes(plan: Plan) -> Iterator[Plan]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.fixture
async def crowded(sessions: Sessions) -> AsyncIterator[uuid.UUID]:
    """One user with 100,000 todos (one a second; mixed priority, completion and tags), among
    20,000 todos of others, with fresh planner statistics. Returns the user's id."""
    owner = uuid.uuid4()
    started = time.monotonic()
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                """
                INSERT INTO todo (id, owner_id, title, priority, completed, tags, due_at, created_at)
                SELECT gen_random_uuid(), :owner, 'todo ' || g,
                       (ARRAY['low', 'medium', 'high'])[g % 3 + 1], g % 2 = 0,
                       CASE WHEN g % 10000 = 0 THEN ARRAY['rare', 't' || g % 50]
                            ELSE ARRAY['t' || g % 50] END,
                       timestamptz '2026-01-01' + g * interval '1 hour',
                       timestamptz '2025-01-01' + g * interval '1 second'
                FROM generate_series(1, :rows) AS g
                """
            ),
            {"owner": owner, "rows": ROWS},
        )
        await session.execute(
            text(
                """
                INSERT INTO todo (id, owner_id, title, created_at)
                SELECT gen_random_uuid(), gen_random_uuid(), 'other ' || g,
                       timestamptz '2025-01-01' + g * interval '1 second'
                FROM generate_series(1, 20000) AS g
                """
            )
        )
        await session.execute(text("ANALYZE todo"))
    assert time.monotonic() - started < 120
    yield owner


async def position_at(sessions: Sessions, owner: uuid.UUID, depth: int) -> Position:
    """Where a client stands after paging through `depth` todos (found the slow way, once)."""
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT created_at, id FROM todo WHERE owner_id = :owner "
                    "ORDER BY created_at DESC, id DESC OFFSET :skip LIMIT 1"
                ),
                {"owner": owner, "skip": depth - 1},
            )
        ).one()
    return Position(row.created_at, row.id)


async def explain(sessions: Sessions, query: Select[Any]) -> Plan:
    async with sessions() as session:
        raw = (await session.execute(Explain(query))).scalar_one()
    document = json.loads(raw) if isinstance(raw, str) else raw
    plan: Plan = document[0]["Plan"]
    return plan


def assert_short_range_scan(plan: Plan, index: str) -> Plan:
    """Limit over one Index Scan of `index` that read about `limit` rows and a few pages."""
    kinds = [node["Node Type"] for node in nodes(plan)]
    assert kinds == ["Limit", "Index Scan"], kinds
    scan: Plan = plan["Plans"][0]
    assert scan["Index Name"] == index
    assert scan["Actual Rows"] == FETCHED
    assert scan.get("Rows Removed by Filter", 0) == 0
    assert scan["Shared Hit Blocks"] + scan["Shared Read Blocks"] < 100, scan
    return scan


@pytest.mark.timeout(300)
async def test_first_and_deep_pages_are_short_index_range_scans(
    crowded: uuid.UUID,
    sessions: Sessions,
    client: httpx.AsyncClient,
    auth: Auth,
    todos_app: FastAPI,
) -> None:
    owner = crowded
    deep = await position_at(sessions, owner, DEPTH)
    none = TodoFilters()
    cursors = components_of(todos_app, Components).cursors
    cases = [
        (none, None, "ix_todo_owner_created"),
        (none, deep, "ix_todo_owner_created"),
        (TodoFilters(completed=False), None, "ix_todo_owner_completed_created"),
        (TodoFilters(completed=True), deep, "ix_todo_owner_completed_created"),
        (TodoFilters(priority="high"), deep, "ix_todo_owner_priority_created"),
    ]
    for filters, after, index in cases:
        query = page_query(owner_id=owner, filters=filters, after=after, limit=FETCHED)
        plan = await explain(sessions, query)
        scan = assert_short_range_scan(plan, index)
        if after is not None:
            assert "ROW(created_at, id) <" in scan["Index Cond"], scan["Index Cond"]

    # The same deep page through the API: the 50,001st todo comes first.
    response = await client.get(
        TODOS,
        headers=auth(owner),
        params={"cursor": cursors.encode(deep, scope=repr(none)), "limit": LIMIT},
    )
    expected = await position_at(sessions, owner, DEPTH + 1)
    assert response.json()["items"][0]["id"] == str(expected.id)


@pytest.mark.timeout(300)
async def test_other_filters_never_scan_the_table_or_sort_it_all(
    crowded: uuid.UUID, sessions: Sessions
) -> None:
    owner = crowded
    deep = await position_at(sessions, owner, DEPTH)
    cases = [
        TodoFilters(completed=False, priority="low"),
        TodoFilters(tag="t7"),
        TodoFilters(tag="rare"),
        TodoFilters(due_before=deep.created_at.replace(year=2030)),
        TodoFilters(completed=True, priority="medium", tag="t4"),
    ]
    for filters in cases:
        for after in (None, deep):
            query = page_query(owner_id=owner, filters=filters, after=after, limit=FETCHED)
            plan = await explain(sessions, query)
            kinds = {node["Node Type"] for node in nodes(plan)}
            assert "Seq Scan" not in kinds, (filters, kinds)
            # Work, not wall time (which a loaded machine inflates): bounded buffer reads.
            assert plan["Shared Hit Blocks"] + plan.get("Shared Read Blocks", 0) < 5000, (
                filters,
                plan["Shared Hit Blocks"],
            )
            # Which index serves a rare tag (GIN, or owner_created with a filter) is the planner's
            # call from sampled statistics, and varies between runs; the buffer bound above is
            # what must hold either way.
