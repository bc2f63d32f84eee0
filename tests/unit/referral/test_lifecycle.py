"""Every step from every state: the allowed ones move the referral, the others are 409s."""

from __future__ import annotations

import itertools

import pytest

from services.common.errors import InvalidTransition
from services.referral.domain import STATES, TRANSITIONS, State, Step, allowed_steps
from tests.unit.referral.support_helpers import referral_in, take

MATRIX = list(itertools.product(State, Step))
ALLOWED = [(s, step) for s, step in MATRIX if s in TRANSITIONS[step][0]]
REFUSED = [(s, step) for s, step in MATRIX if s not in TRANSITIONS[step][0]]


def _id(case: tuple[State, Step]) -> str:
    return f"{case[0].value}--{case[1].value}"


@pytest.mark.parametrize("case", ALLOWED, ids=_id)
def test_an_allowed_step_moves_the_referral_to_its_target_state(case: tuple[State, Step]) -> None:
    state, step = case
    referral = referral_in(state)
    version = referral.version
    take(referral, step)
    assert referral.state is TRANSITIONS[step][1]
    assert referral.version == version + 1


@pytest.mark.parametrize("case", REFUSED, ids=_id)
def test_a_refused_step_is_a_conflict_naming_the_allowed_steps(case: tuple[State, Step]) -> None:
    state, step = case
    referral = referral_in(state)
    version = referral.version
    with pytest.raises(InvalidTransition) as caught:
        take(referral, step)
    assert caught.value.status == 409
    assert caught.value.extra["allowed_steps"] == allowed_steps(state)
    assert step.value in caught.value.detail and state.value in caught.value.detail
    assert referral.state is state and referral.version == version


def test_the_matrix_covers_every_state_and_step() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(State) * len(Step)
    assert {target for _, target in TRANSITIONS.values()} | {State.DRAFT} == set(State)


def test_every_fhir_task_status_is_reachable() -> None:
    task_statuses = {info.task_status for info in STATES.values()}
    assert task_statuses == {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    }


def test_every_closed_loop_business_status_is_reachable() -> None:
    business = {info.business_status for info in STATES.values()} - {None}
    assert business == {
        "Created",
        "Accepted",
        "Declined",
        "Scheduled",
        "No-show",
        "Appointment cancelled",
        "Attended",
        "Cancellation requested",
        "Fulfillment cancelled",
        "Completed",
    }


@pytest.mark.parametrize("state", [s for s in State if STATES[s].final], ids=str)
def test_a_final_state_allows_nothing_but_marking_it_entered_in_error(state: State) -> None:
    expected = [] if state is State.ENTERED_IN_ERROR else ["mark-entered-in-error"]
    assert allowed_steps(state) == expected


def test_a_final_state_error_says_there_is_no_next_step() -> None:
    referral = referral_in(State.ENTERED_IN_ERROR)
    with pytest.raises(InvalidTransition, match="none"):
        take(referral, Step.ACCEPT)
