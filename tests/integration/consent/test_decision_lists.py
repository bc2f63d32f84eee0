"""The decision list and review queue in PostgreSQL answer as the in-memory fold, paged by SQL."""

from __future__ import annotations

import pytest

from services.common.context import CommandContext
from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.query import Window
from services.common.readmodels.summaries import InMemorySummaries
from services.consent.application import ConsentApplication
from services.consent.domain.commands import Decide
from services.consent.domain.terms import Recipient
from services.consent.projections import DECISIONS, DecisionFilter
from tests.unit.consent.support_builders import (
    SISTER,
    active_consent,
    context,
    emergency_request,
    request,
)

pytestmark = pytest.mark.integration


def seed(app: ConsentApplication, ctx: CommandContext) -> None:
    active_consent(app, ctx)
    for _ in range(3):
        app.decide(ctx=ctx, command=Decide(request=request()))
        app.decide(ctx=ctx, command=Decide(request=request(recipient=Recipient(**SISTER))))
    for _ in range(2):
        app.decide(ctx=ctx, command=Decide(request=emergency_request()))
    app.decide(ctx=context(tenant="practice-other"), command=Decide(request=request()))


def walk(app: ConsentApplication, query: DecisionFilter | None, limit: int) -> list[str]:
    ids, window = [], Window(limit=limit)
    while True:
        if query is None:
            found = app.review_queue(tenant="practice-1", window=window)
        else:
            found = app.decisions(tenant="practice-1", query=query, window=window)
        ids += [row["decision_id"] for row in found.rows]
        if found.next_cursor is None:
            return ids
        window = Window(limit=limit, cursor=found.next_cursor)


@pytest.mark.parametrize("limit", [1, 4])
def test_postgres_and_the_in_memory_fold_page_decisions_alike(
    app: ConsentApplication, limit: int
) -> None:
    ctx = context()
    assert ctx.tenant == "practice-1"
    seed(app, ctx)
    assert isinstance(app.decision_log, PostgresSummaries)
    twin = object.__new__(type(app))
    twin.__dict__.update(app.__dict__)
    twin.decision_log = InMemorySummaries(DECISIONS)
    queries = [
        DecisionFilter(),
        DecisionFilter(outcome="NO_CONSENT"),
        DecisionFilter(break_glass=True),
        DecisionFilter(person_id="person-nobody"),
        None,  # the review queue
    ]
    for query in queries:
        assert walk(app, query, limit) == walk(twin, query, limit), query
    assert len(walk(app, DecisionFilter(), limit)) == 8
    assert len(walk(app, None, limit)) == 2
    assert app.decisions(tenant="practice-1").total == 8
