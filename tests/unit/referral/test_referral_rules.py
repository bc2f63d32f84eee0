"""Rules of the Referral aggregate beyond the lifecycle: coded values, required details."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.errors import RuleBroken
from services.referral.domain import State
from services.referral.domain.commands import (
    Complete,
    Decline,
    RecordAttendance,
    ReviseReferral,
    Schedule,
)
from tests.unit.referral.support_helpers import T0, new_referral, referral_in


def test_a_substance_use_referral_carries_part_2_labels() -> None:
    referral = new_referral("detox")
    assert referral.categories == ["referral", "substance-use"]
    assert referral.security_labels == ["42CFRPart2", "ETH", "R"]


def test_an_ipv_advocacy_referral_carries_the_sdv_label() -> None:
    assert "SDV" in new_referral("ipv-advocacy").security_labels


@pytest.mark.parametrize(
    ("field", "value"), [("referral_type", "massage"), ("priority", "whenever"), ("origin", "fax")]
)
def test_an_unknown_code_is_refused_naming_the_field_and_the_options(
    field: str, value: str
) -> None:
    with pytest.raises(RuleBroken) as caught:
        new_referral(**{field: value})
    assert field in caught.value.extra["errors"]
    assert "use one of" in caught.value.extra["errors"][field]


def test_an_organisation_without_a_name_is_refused() -> None:
    with pytest.raises(RuleBroken) as caught:
        new_referral(organization={"id": "org-1"})
    assert caught.value.extra["errors"] == {"organization.name": "required, give a non-empty value"}


def test_a_draft_without_an_organisation_cannot_be_sent() -> None:
    referral = new_referral(organization=None)
    with pytest.raises(RuleBroken) as caught:
        referral.check_can_send()
    assert "organization" in caught.value.extra["errors"]


def test_a_revised_draft_gets_the_labels_of_its_new_type() -> None:
    referral = new_referral("detox")
    referral.revise(
        ReviseReferral(
            client_id="client-1",
            referral_type="psychiatry",
            priority="routine",
            reason="r",
            coordinator_id=None,
            organization=None,
            contact=None,
        )
    )
    assert referral.security_labels == ["R"]
    assert referral.state is State.DRAFT


def test_a_decline_needs_a_reason() -> None:
    with pytest.raises(RuleBroken, match="reason"):
        referral_in(State.REQUESTED).decline(Decline(reason="  "), at=T0)


def test_an_appointment_time_needs_a_time_zone() -> None:
    with pytest.raises(RuleBroken) as caught:
        no_zone = dt.datetime(2026, 3, 4, 10)  # no time zone: the point of the test
        referral_in(State.ACCEPTED).schedule(Schedule(appointment_at=no_zone), at=T0)
    assert "appointment_at" in caught.value.extra["errors"]


def test_attendance_defaults_to_the_scheduled_time() -> None:
    referral = referral_in(State.SCHEDULED)
    referral.record_attendance(RecordAttendance(), at=T0)
    assert referral.attended_at == referral.appointment_at


def test_completion_needs_a_known_outcome() -> None:
    with pytest.raises(RuleBroken) as caught:
        referral_in(State.ATTENDED).complete(Complete(outcome="fine"), at=T0)
    assert "outcome" in caught.value.extra["errors"]


def test_a_completed_referral_keeps_its_outcome() -> None:
    assert referral_in(State.COMPLETED).outcome == "treatment-completed"


def test_extra_data_categories_must_be_known_to_the_consent_service() -> None:
    assert new_referral(categories=["diagnosis"]).categories == [
        "diagnosis",
        "referral",
        "substance-use",
    ]
    with pytest.raises(RuleBroken) as caught:
        new_referral(categories=["gossip"])
    assert "categories" in caught.value.extra["errors"]
