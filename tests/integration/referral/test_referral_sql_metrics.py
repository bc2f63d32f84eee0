"""The referral metrics as SQL aggregates give the numbers the Python reference computes.

A seeded practice of referrals to three organisations, sent over weeks, accepted, declined,
scheduled, missed, attended and completed at varied times, with detox discharges followed by
another referral's visit within a week, within a month and later; the SQL figures of several
periods must equal `referral_metrics` over the in-memory fold of the same event log.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.summaries import InMemorySummaries
from services.referral.application import ReferralApplication
from services.referral.domain import Step
from services.referral.projections import SUMMARIES
from tests.unit.referral.conftest import Clock
from tests.unit.referral.support_helpers import CTX, T0
from tests.unit.referral.test_worklist_and_metrics import sent, take

pytestmark = pytest.mark.integration
ORGS = [{"id": f"org-{n}", "name": f"Organisation {n}"} for n in range(3)]
TYPES = ("detox", "psychiatry", "outpatient-sud")


def in_memory(app: ReferralApplication) -> ReferralApplication:
    """The same application reading an in-memory fold of its own event log."""
    twin = object.__new__(type(app))
    twin.__dict__.update(app.__dict__)
    twin.summaries = InMemorySummaries(SUMMARIES)
    return twin


def attend(app: ReferralApplication, rid: Any, hours: int, *, complete: bool = False) -> None:
    clock: Clock = app.clock  # type: ignore[assignment]
    take(app, rid, Step.ACCEPT)
    take(app, rid, Step.SCHEDULE, appointment_at=clock() + dt.timedelta(hours=hours))
    take(app, rid, Step.RECORD_ATTENDANCE, attended_at=clock() + dt.timedelta(hours=hours))
    if complete:
        take(app, rid, Step.COMPLETE, outcome="treatment-completed")


def seed(app: ReferralApplication, rnd: random.Random) -> None:
    clock: Clock = app.clock  # type: ignore[assignment]
    for _ in range(30):
        kind, org = rnd.choice(TYPES), rnd.choice(ORGS)
        rid = sent(app, kind, client_id=f"client-{rnd.randrange(6)}", organization=org)  # type: ignore[arg-type]
        clock.advance(minutes=rnd.randrange(5, 900))
        fate = rnd.randrange(6)
        if fate == 0:
            take(app, rid, Step.DECLINE, reason="no capacity")
        elif fate == 1:
            take(app, rid, Step.ACCEPT)
        elif fate == 2:
            take(app, rid, Step.ACCEPT)
            take(app, rid, Step.SCHEDULE, appointment_at=clock() + dt.timedelta(hours=30))
            take(app, rid, Step.RECORD_NO_SHOW)
        elif fate >= 3:
            attend(app, rid, rnd.randrange(1, 200), complete=fate == 5)
    for days, client in ((3, "client-a"), (20, "client-b"), (45, "client-c"), (2, "client-d")):
        detox = sent(app, "detox", client_id=client, organization=ORGS[0])  # type: ignore[arg-type]
        attend(app, detox, 2, complete=True)
        clock.advance(days=days)
        kind = "detox" if client == "client-d" else "outpatient-sud"  # another detox: no visit
        attend(app, sent(app, kind, client_id=client, organization=ORGS[1]), 1)  # type: ignore[arg-type]
    clock.advance(days=1)


def test_sql_metrics_equal_the_python_reference_on_the_same_referrals(
    app: ReferralApplication,
) -> None:
    seed(app, random.Random(15))
    assert isinstance(app.summaries, PostgresSummaries)
    twin = in_memory(app)
    now = app.clock()
    periods = [
        (T0 - dt.timedelta(days=1), now),
        (T0, T0 + dt.timedelta(days=3)),
        (T0 + dt.timedelta(days=2), now - dt.timedelta(days=30)),
        (now, now + dt.timedelta(days=1)),  # nothing sent
    ]
    for start, end in periods:
        ours = app.metrics(tenant=CTX.tenant, start=start, end=end)
        assert ours == twin.metrics(tenant=CTX.tenant, start=start, end=end), (start, end)
    whole = app.metrics(tenant=CTX.tenant, start=periods[0][0], end=now)
    assert whole["sent"] == 38 and len(whole["organizations"]) == 3
    assert whole["median_hours_to_accept"] is not None
    assert whole["detox_follow_up"]["detox_completed"] >= 4
    assert (
        0 < whole["detox_follow_up"]["within_7_days"] < whole["detox_follow_up"]["within_30_days"]
    )
    assert app.metrics(tenant="practice-b", start=periods[0][0], end=now)["sent"] == 0
