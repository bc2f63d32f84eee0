"""The referral summaries in PostgreSQL answer as the in-memory fold does, paged by SQL.

One application on private schemas takes referrals through every worklist reason; its
PostgreSQL read model and an in-memory fold of the same event log must give the same pages,
cursors, totals and metrics. A change of the table's shape drops it and replays the events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import psycopg
import pytest
from psycopg import sql

from services.common.errors import Conflict
from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.query import Found, Window
from services.common.readmodels.summaries import InMemorySummaries
from services.referral.application import ReferralApplication
from services.referral.domain import Step
from services.referral.domain.commands import SendReferral
from services.referral.projections import SUMMARIES, postgres_summaries
from services.referral.worklist import REASONS, WorklistFilter
from tests.unit.referral.conftest import Clock
from tests.unit.referral.support_helpers import CTX, T0, FakeConsentGate
from tests.unit.referral.test_application import draft
from tests.unit.referral.test_worklist_and_metrics import sent, take

pytestmark = pytest.mark.integration


def seed(app: ReferralApplication) -> None:
    """Referrals with every worklist reason, some closed, two organisations and types."""
    clock: Clock = app.clock  # type: ignore[assignment]
    gate: FakeConsentGate = app.consent_gate  # type: ignore[assignment]
    psy = {"id": "org-psy", "name": "Psychiatry"}
    for _ in range(3):
        sent(app)  # overdue acknowledgement, later
    accepted = [sent(app, "psychiatry", organization=psy) for _ in range(2)]  # type: ignore[arg-type]
    detox = sent(app, client_id="client-9")
    clock.advance(hours=2)
    for rid in [*accepted, detox]:
        take(app, rid, Step.ACCEPT)
    take(app, accepted[0], Step.SCHEDULE, appointment_at=T0 + dt.timedelta(days=9))  # late
    take(app, detox, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(days=1))
    take(app, detox, Step.RECORD_ATTENDANCE)
    take(app, detox, Step.COMPLETE, outcome="treatment-completed")
    after = sent(app, "outpatient-sud", client_id="client-9")
    take(app, after, Step.ACCEPT)
    take(app, after, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(days=3))
    take(app, after, Step.RECORD_ATTENDANCE)
    missed = sent(app, coordinator_id="coord-2")
    take(app, missed, Step.ACCEPT)
    take(app, missed, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(days=1))
    take(app, missed, Step.RECORD_NO_SHOW)
    gate.outcome = "NO_CONSENT"
    for _ in range(2):
        blocked = draft(app)
        with pytest.raises(Conflict):
            app.send(ctx=CTX, referral_id=blocked, command=SendReferral(), token=None)
    draft(app)  # a plain draft: not on the worklist
    clock.advance(days=8)


def walk(app: ReferralApplication, query: WorklistFilter, limit: int) -> tuple[list[str], int]:
    """Every id of the worklist, page by page along the cursors; and the total."""
    ids: list[str] = []
    window = Window(limit=limit)
    while True:
        found: Found = app.worklist(tenant=CTX.tenant, query=query, window=window)
        ids += [item["id"] for item in found.rows]
        if found.next_cursor is None:
            return ids, found.total
        window = Window(limit=limit, cursor=found.next_cursor)


def in_memory(app: ReferralApplication) -> ReferralApplication:
    """The same application reading an in-memory fold of its own event log."""
    twin = object.__new__(type(app))
    twin.__dict__.update(app.__dict__)
    twin.summaries = InMemorySummaries(SUMMARIES)
    return twin


FILTERS = [
    WorklistFilter(),
    *(WorklistFilter(reason=r) for r in REASONS),
    WorklistFilter(organization_id="org-psy"),
    WorklistFilter(referral_type="detox", coordinator_id="coord-2"),
]


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_postgres_and_the_in_memory_fold_page_the_worklist_alike(
    app: ReferralApplication, limit: int
) -> None:
    seed(app)
    assert isinstance(app.summaries, PostgresSummaries)
    twin = in_memory(app)
    for query in FILTERS:
        assert walk(app, query, limit) == walk(twin, query, limit), query
    everything, total = walk(app, WorklistFilter(), 50)
    assert total == len(everything) == 9
    assert app.worklist(tenant="practice-b", query=WorklistFilter()).rows == []


def test_offset_pages_are_slices_of_the_whole_worklist(app: ReferralApplication) -> None:
    seed(app)
    whole = [i["id"] for i in app.worklist(tenant=CTX.tenant, query=WorklistFilter()).rows]
    page = app.worklist(tenant=CTX.tenant, query=WorklistFilter(), window=Window(3, 4))
    assert [i["id"] for i in page.rows] == whole[4:7] and page.total == len(whole)


def test_postgres_and_the_in_memory_fold_give_the_same_metrics(app: ReferralApplication) -> None:
    seed(app)
    period: dict[str, Any] = {"start": T0 - dt.timedelta(days=1), "end": T0 + dt.timedelta(days=1)}
    metrics = app.metrics(tenant=CTX.tenant, **period)
    assert metrics == in_memory(app).metrics(tenant=CTX.tenant, **period)
    assert metrics["sent"] == 8 and metrics["detox_follow_up"]["within_7_days"] == 1


def test_a_new_shape_of_the_summaries_table_drops_it_and_replays_the_events(
    app: ReferralApplication, database_url: str, schema: str
) -> None:
    seed(app)
    before = walk(app, WorklistFilter(), 50)
    with psycopg.connect(database_url, autocommit=True) as conn:
        table = sql.Identifier(schema, "referral_summaries")
        conn.execute(sql.SQL("UPDATE {} SET state = 'completed'").format(table))
    assert walk(app, WorklistFilter(), 50) == ([], 0)  # the tampered table answers
    reshaped = dataclasses.replace(SUMMARIES, indexes=SUMMARIES.indexes[:1])
    store = app.summaries._store  # type: ignore[attr-defined]
    app.summaries = PostgresSummaries(reshaped, store, schema=schema)
    assert walk(app, WorklistFilter(), 50) == before  # dropped and replayed
    app.summaries = postgres_summaries(store, schema=schema)
    assert walk(app, WorklistFilter(), 50) == before  # back to the first shape: replayed again
