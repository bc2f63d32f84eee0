"""The disclosures read model in PostgreSQL: the aggregates' views, by person and period, rebuilt
alike, and the accounting it serves equal to the in-memory fold's."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.summaries import InMemorySummaries
from services.consent.application import ConsentApplication
from services.consent.disclosure_rows import DISCLOSURES
from services.consent.domain.commands import ProduceAccounting
from tests.unit.consent.support_builders import NOW, context
from tests.unit.consent.test_disclosure_rows import aggregate_views, record_every_kind
from tests.unit.consent.test_late_disclosures import years_ago

pytestmark = pytest.mark.integration


def in_memory(app: ConsentApplication) -> ConsentApplication:
    """The same application reading an in-memory fold of its own event log."""
    twin = object.__new__(type(app))
    twin.__dict__.update(app.__dict__)
    twin.disclosure_log = InMemorySummaries(DISCLOSURES)
    return twin


def test_postgres_rows_are_the_aggregates_views_and_the_in_memory_folds(
    app: ConsentApplication,
) -> None:
    ctx = context()
    ids = record_every_kind(app, ctx)
    assert isinstance(app.disclosure_log, PostgresSummaries)
    twin = in_memory(app)
    assert app.disclosures_of(ctx.tenant, "person-a") == aggregate_views(app, ids)
    period = {"start": years_ago(6), "end": NOW - dt.timedelta(days=1)}
    found = app.disclosures_of(ctx.tenant, "person-a", **period)
    assert found == twin.disclosures_of(ctx.tenant, "person-a", **period)
    assert 0 < len(found) < len(ids)
    assert app.disclosures_of("practice-other", "person-a") == []
    ours = app.account(ctx=ctx, person_id="person-a", command=ProduceAccounting())
    theirs = twin.account(ctx=ctx, person_id="person-a", command=ProduceAccounting())
    for part in ("window", "items", "total", "excluded"):
        assert ours[part] == theirs[part], part


def test_a_rebuild_of_the_disclosures_gives_the_same_rows(app: ConsentApplication) -> None:
    ctx = context()
    record_every_kind(app, ctx)
    before = app.disclosures_of(ctx.tenant, "person-a")
    assert isinstance(app.disclosure_log, PostgresSummaries)
    assert app.disclosure_log.rebuild(app) > 0
    assert app.disclosures_of(ctx.tenant, "person-a") == before
