"""The coordinators' worklist and the closed-loop metrics, over the in-memory store."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from services.common.errors import Conflict
from services.referral.application import ReferralApplication
from services.referral.domain import ServiceLevels, Step
from services.referral.domain.commands import STEP_COMMANDS, SendReferral
from services.referral.worklist import WorklistFilter
from tests.unit.referral.conftest import Clock
from tests.unit.referral.support_helpers import CTX, T0, FakeConsentGate
from tests.unit.referral.test_application import draft

ALL = WorklistFilter()


@pytest.fixture(autouse=True)
def _utc(app: ReferralApplication) -> None:
    app.service_levels = ServiceLevels(timezone="UTC")


def sent(app: ReferralApplication, referral_type: str = "detox", **details: str) -> UUID:
    rid = draft(app, referral_type, **details)
    app.send(ctx=CTX, referral_id=rid, command=SendReferral(), token=None)
    return rid


def take(app: ReferralApplication, rid: UUID, step: Step, **arguments: object) -> None:
    app.step(ctx=CTX, referral_id=rid, command=STEP_COMMANDS[step](**arguments))


def reasons(app: ReferralApplication, where: WorklistFilter = ALL) -> dict[str, list[str]]:
    return {
        item["id"]: item["reasons"] for item in app.worklist(tenant=CTX.tenant, query=where).rows
    }


def test_an_unacknowledged_detox_referral_is_overdue_the_next_day(
    app: ReferralApplication, clock: Clock
) -> None:
    rid = sent(app)
    assert reasons(app) == {}
    clock.advance(hours=16)
    assert reasons(app) == {str(rid): ["overdue-acknowledgement"]}
    take(app, rid, Step.RECEIVE)
    assert reasons(app) == {}


def test_a_referral_without_a_first_appointment_in_seven_days_is_overdue(
    app: ReferralApplication, clock: Clock
) -> None:
    rid = sent(app)
    take(app, rid, Step.ACCEPT)
    clock.advance(days=8)
    assert reasons(app) == {str(rid): ["overdue-first-appointment"]}
    take(app, rid, Step.SCHEDULE, appointment_at=clock.now + dt.timedelta(days=1))
    assert reasons(app) == {str(rid): ["overdue-first-appointment"]}  # booked, but late
    take(app, rid, Step.RECORD_ATTENDANCE)
    assert reasons(app) == {str(rid): ["awaiting-outcome"]}


def test_a_no_show_and_a_consent_block_are_on_the_worklist(
    app: ReferralApplication, gate: FakeConsentGate
) -> None:
    shown = sent(app)
    take(app, shown, Step.ACCEPT)
    take(app, shown, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(days=1))
    take(app, shown, Step.RECORD_NO_SHOW)
    gate.outcome = "NO_CONSENT"
    blocked = draft(app)
    with pytest.raises(Conflict):
        app.send(ctx=CTX, referral_id=blocked, command=SendReferral(), token=None)
    assert reasons(app) == {str(shown): ["no-show"], str(blocked): ["blocked-by-consent"]}
    [item] = app.worklist(tenant=CTX.tenant, query=WorklistFilter(reason="blocked-by-consent")).rows
    assert item["consent"]["outcome"] == "NO_CONSENT"


def test_the_worklist_filters_by_organisation_type_and_coordinator(
    app: ReferralApplication, clock: Clock
) -> None:
    detox = sent(app, "detox")
    psych = sent(
        app,
        "psychiatry",
        coordinator_id="coord-2",
        organization={"id": "org-psy", "name": "Psychiatry"},
    )  # type: ignore[arg-type]
    clock.advance(days=5)
    assert set(reasons(app)) == {str(detox), str(psych)}
    assert set(reasons(app, WorklistFilter(referral_type="psychiatry"))) == {str(psych)}
    assert set(reasons(app, WorklistFilter(organization_id="org-psy"))) == {str(psych)}
    assert set(reasons(app, WorklistFilter(coordinator_id="coord-1"))) == {str(detox)}


def test_another_practice_sees_none_of_the_worklist(app: ReferralApplication, clock: Clock) -> None:
    sent(app)
    clock.advance(days=3)
    assert app.worklist(tenant="practice-b", query=ALL).rows == []


def test_metrics_count_loop_closure_times_and_rates_per_organisation(
    app: ReferralApplication, clock: Clock
) -> None:
    closed = sent(app)
    declined = sent(app)
    missed = sent(app)
    clock.advance(hours=2)
    take(app, closed, Step.ACCEPT)
    take(app, declined, Step.DECLINE, reason="no beds")
    take(app, missed, Step.ACCEPT)
    take(app, closed, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(hours=24))
    take(app, missed, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(hours=48))
    take(app, missed, Step.RECORD_NO_SHOW)
    take(app, closed, Step.RECORD_ATTENDANCE)
    clock.advance(days=3)
    take(app, closed, Step.COMPLETE, outcome="treatment-completed")
    metrics = app.metrics(
        tenant=CTX.tenant, start=T0 - dt.timedelta(days=1), end=T0 + dt.timedelta(days=1)
    )
    assert metrics["sent"] == 3 and metrics["completed"] == 1
    assert metrics["loop_closure_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["median_hours_to_accept"] == 2.0
    assert metrics["median_hours_to_first_appointment"] == 36.0
    [org] = metrics["organizations"]
    assert org["decline_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert org["no_show_rate"] == 0.5


def test_detox_follow_up_counts_an_attended_visit_within_seven_and_thirty_days(
    app: ReferralApplication, clock: Clock
) -> None:
    detox = sent(app, "detox")
    take(app, detox, Step.ACCEPT)
    take(app, detox, Step.SCHEDULE, appointment_at=T0)
    take(app, detox, Step.RECORD_ATTENDANCE)
    take(app, detox, Step.COMPLETE, outcome="treatment-completed")
    after = sent(app, "outpatient-sud")
    take(app, after, Step.ACCEPT)
    take(app, after, Step.SCHEDULE, appointment_at=T0 + dt.timedelta(days=10))
    take(app, after, Step.RECORD_ATTENDANCE)
    follow_up = app.metrics(
        tenant=CTX.tenant, start=T0 - dt.timedelta(days=1), end=T0 + dt.timedelta(days=1)
    )["detox_follow_up"]
    assert follow_up == {
        "detox_completed": 1,
        "within_7_days": 0,
        "within_30_days": 1,
        "rate_7_days": 0.0,
        "rate_30_days": 1.0,
    }


def test_metrics_of_an_empty_period_have_no_rates(app: ReferralApplication) -> None:
    metrics = app.metrics(tenant=CTX.tenant, start=T0, end=T0 + dt.timedelta(days=1))
    assert metrics["sent"] == 0 and metrics["loop_closure_rate"] is None
