"""The referral lifecycle: steps (commands) between states, each state a FHIR Task.status plus
the closed-loop business status (360X / BSeR).

The state machine is keyed by the closed-loop state, because one Task.status (on-hold, say)
covers several business situations (no-show, appointment cancelled, cancellation requested)
that allow different next steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.common.errors import InvalidTransition


class State(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SCHEDULED = "scheduled"
    NO_SHOW = "no-show"
    APPOINTMENT_CANCELLED = "appointment-cancelled"
    ATTENDED = "attended"
    CANCELLATION_REQUESTED = "cancellation-requested"
    FULFILLMENT_CANCELLED = "fulfillment-cancelled"
    CANCELLED = "cancelled"
    FAILED = "failed"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"


class Step(StrEnum):
    """One command of the lifecycle; each records its own event."""

    REVISE = "revise"
    SEND = "send"
    RECEIVE = "receive"
    ACCEPT = "accept"
    DECLINE = "decline"
    SCHEDULE = "schedule"
    RECORD_NO_SHOW = "record-no-show"
    CANCEL_APPOINTMENT = "cancel-appointment"
    RECORD_ATTENDANCE = "record-attendance"
    REQUEST_CANCELLATION = "request-cancellation"
    CONFIRM_CANCELLATION = "confirm-cancellation"
    CANCEL = "cancel"
    FAIL = "fail"
    COMPLETE = "complete"
    MARK_ENTERED_IN_ERROR = "mark-entered-in-error"


@dataclass(frozen=True)
class StateInfo:
    task_status: str  # FHIR Task.status
    business_status: str | None  # closed-loop business status (Task.businessStatus)
    final: bool = False


STATES: dict[State, StateInfo] = {
    State.DRAFT: StateInfo("draft", None),
    State.REQUESTED: StateInfo("requested", "Created"),
    State.RECEIVED: StateInfo("received", "Created"),
    State.ACCEPTED: StateInfo("accepted", "Accepted"),
    State.DECLINED: StateInfo("rejected", "Declined", final=True),
    State.SCHEDULED: StateInfo("ready", "Scheduled"),
    State.NO_SHOW: StateInfo("on-hold", "No-show"),
    State.APPOINTMENT_CANCELLED: StateInfo("on-hold", "Appointment cancelled"),
    State.ATTENDED: StateInfo("in-progress", "Attended"),
    State.CANCELLATION_REQUESTED: StateInfo("on-hold", "Cancellation requested"),
    State.FULFILLMENT_CANCELLED: StateInfo("cancelled", "Fulfillment cancelled", final=True),
    State.CANCELLED: StateInfo("cancelled", None, final=True),
    State.FAILED: StateInfo("failed", None, final=True),
    State.COMPLETED: StateInfo("completed", "Completed", final=True),
    State.ENTERED_IN_ERROR: StateInfo("entered-in-error", None, final=True),
}

_SENT_OPEN = frozenset(
    {
        State.REQUESTED,
        State.RECEIVED,
        State.ACCEPTED,
        State.SCHEDULED,
        State.NO_SHOW,
        State.APPOINTMENT_CANCELLED,
        State.ATTENDED,
    }
)

# step -> (states it may be taken from, state it leads to)
TRANSITIONS: dict[Step, tuple[frozenset[State], State]] = {
    Step.REVISE: (frozenset({State.DRAFT}), State.DRAFT),
    Step.SEND: (frozenset({State.DRAFT}), State.REQUESTED),
    Step.RECEIVE: (frozenset({State.REQUESTED}), State.RECEIVED),
    Step.ACCEPT: (frozenset({State.REQUESTED, State.RECEIVED}), State.ACCEPTED),
    Step.DECLINE: (frozenset({State.REQUESTED, State.RECEIVED}), State.DECLINED),
    Step.SCHEDULE: (
        frozenset({State.ACCEPTED, State.NO_SHOW, State.APPOINTMENT_CANCELLED}),
        State.SCHEDULED,
    ),
    Step.RECORD_NO_SHOW: (frozenset({State.SCHEDULED}), State.NO_SHOW),
    Step.CANCEL_APPOINTMENT: (frozenset({State.SCHEDULED}), State.APPOINTMENT_CANCELLED),
    Step.RECORD_ATTENDANCE: (frozenset({State.SCHEDULED}), State.ATTENDED),
    Step.REQUEST_CANCELLATION: (_SENT_OPEN, State.CANCELLATION_REQUESTED),
    Step.CONFIRM_CANCELLATION: (
        frozenset({State.CANCELLATION_REQUESTED}),
        State.FULFILLMENT_CANCELLED,
    ),
    Step.CANCEL: (frozenset({State.DRAFT}), State.CANCELLED),
    Step.FAIL: (
        frozenset({State.ACCEPTED, State.NO_SHOW, State.APPOINTMENT_CANCELLED}),
        State.FAILED,
    ),
    Step.COMPLETE: (frozenset({State.ATTENDED}), State.COMPLETED),
    Step.MARK_ENTERED_IN_ERROR: (
        frozenset(s for s in State if s is not State.ENTERED_IN_ERROR),
        State.ENTERED_IN_ERROR,
    ),
}


def allowed_steps(state: State) -> list[str]:
    """The steps that may be taken from `state`, sorted."""
    return sorted(step.value for step, (sources, _) in TRANSITIONS.items() if state in sources)


def next_state(state: State, step: Step) -> State:
    """The state `step` leads to from `state`; InvalidTransition (409) naming the allowed steps."""
    sources, target = TRANSITIONS[step]
    if state not in sources:
        allowed = allowed_steps(state)
        error = InvalidTransition("referral", state.value, step.value, allowed)
        error.detail = (
            f"a referral in status '{state.value}' cannot take the step '{step.value}'; "
            f"allowed steps: {', '.join(allowed) if allowed else 'none (final status)'}"
        )
        error.args = (error.detail,)
        error.extra["allowed_steps"] = allowed
        raise error
    return target
