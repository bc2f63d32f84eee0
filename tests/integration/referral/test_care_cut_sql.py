"""The care-team cut of the worklist in PostgreSQL: what the read policy lets each caller read,
row by row, and what the in-memory fold of the same events answers; an outsider sees nothing.
The plan teams read model is found by its GIN index and rebuilt from the events alike."""

from __future__ import annotations

import random

import pytest

from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.query import Window
from services.common.readmodels.summaries import InMemorySummaries
from services.common.viewer import Viewer
from services.referral.application import ReferralApplication
from services.referral.projections import SUMMARIES
from services.referral.reads import readable_worklist
from services.referral.team_rows import TEAMS, teams_of
from services.referral.worklist import WorklistFilter
from tests.unit.referral.support_helpers import CTX
from tests.unit.referral.test_care_cut import check_every_caller, seed_practice, viewers, walk

pytestmark = pytest.mark.integration


def in_memory(app: ReferralApplication) -> ReferralApplication:
    """The same application reading in-memory folds of its own event log."""
    twin = object.__new__(type(app))
    twin.__dict__.update(app.__dict__)
    twin.summaries = InMemorySummaries(SUMMARIES)
    twin.teams = InMemorySummaries(TEAMS)
    return twin


def test_the_sql_cut_is_the_read_policy_row_by_row(app: ReferralApplication) -> None:
    for seed in range(2):
        seed_practice(app, random.Random(seed))
    assert isinstance(app.teams, PostgresSummaries)
    check_every_caller(app, limits=(5, 200))
    twin = in_memory(app)
    for viewer in viewers():
        assert walk(app, viewer, 9) == walk(twin, viewer, 9), viewer


def test_an_outsider_sees_nothing_and_a_filter_still_applies(app: ReferralApplication) -> None:
    seed_practice(app, random.Random(3))
    outsider = Viewer("clin-outsider", CTX.tenant, frozenset({"clinician"}))
    for where in (WorklistFilter(), WorklistFilter(reason="overdue-acknowledgement")):
        found = readable_worklist(app, outsider, where, Window())
        assert (found.rows, found.total) == ([], 0)
    lead = next(v for v in viewers() if walk(app, v, 200)[0])
    only = WorklistFilter(reason="no-show")
    assert readable_worklist(app, lead, only, Window()).rows == []


def test_a_rebuild_of_the_plan_teams_gives_the_same_teams(app: ReferralApplication) -> None:
    seed_practice(app, random.Random(4))
    assert isinstance(app.teams, PostgresSummaries)

    def teams() -> list[str]:
        found = teams_of(app, app.teams, tenant=CTX.tenant, clinician_id="clin-1")
        return sorted(repr(t) for t in found)

    before = teams()
    assert before and app.teams.rebuild(app) > 0
    assert teams() == before
