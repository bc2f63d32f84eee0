"""Builders shared by the referral unit tests: referrals in every state, a fake consent gate."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from contracts.records import InboundRecord
from services.common.access.consent_gate import (
    Asking,
    ConsentDecision,
    ConsentGate,
    DecisionRequest,
)
from services.common.context import CommandContext
from services.common.errors import Unavailable
from services.referral.domain import Referral, ServiceLevels, State, Step
from services.referral.domain.commands import (
    STEP_COMMANDS,
    DraftReferral,
    ReviseReferral,
    SendReferral,
    StepCommand,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
ORG = {"id": "org-detox-1", "name": "Riverside Withdrawal Management"}
CTX = CommandContext(actor_id="coord-1", actor_role="coordinator", tenant="practice-a")


def new_referral(referral_type: str = "detox", **overrides: Any) -> Referral:
    details: dict[str, Any] = {
        "plan_id": uuid.uuid4(),
        "client_id": "client-1",
        "referral_type": referral_type,
        "priority": "urgent",
        "reason": "withdrawal risk after a format shift",
        "coordinator_id": "coord-1",
        "organization": ORG,
        "contact": {"name": "Intake desk", "phone": "555-0100"},
    }
    details.update(overrides)
    return Referral.draft(id=uuid.uuid4(), tenant="practice-a", command=DraftReferral(**details))


def step_arguments(step: Step) -> dict[str, Any]:
    """Valid arguments for each step, so that only the lifecycle decides."""
    return {
        Step.REVISE: {
            "client_id": "client-1",
            "referral_type": "detox",
            "priority": "stat",
            "reason": "revised",
            "coordinator_id": "coord-1",
            "organization": ORG,
            "contact": None,
        },
        Step.SEND: {"decision_id": "dec-1", "obligations": [], "levels": ServiceLevels()},
        Step.DECLINE: {"reason": "no capacity"},
        Step.SCHEDULE: {"appointment_at": T0 + dt.timedelta(days=2)},
        Step.RECORD_ATTENDANCE: {"attended_at": T0 + dt.timedelta(days=2)},
        Step.COMPLETE: {"outcome": "treatment-completed"},
    }.get(step, {})


def step_command(step: Step, **overrides: Any) -> StepCommand:
    """The command of a step after sending, with valid arguments (and any overrides)."""
    return STEP_COMMANDS[step](**(step_arguments(step) | overrides))


def take(referral: Referral, step: Step) -> None:
    arguments = step_arguments(step)
    if step is Step.REVISE:
        referral.revise(ReviseReferral(**arguments))
    elif step is Step.SEND:
        referral.send(SendReferral(), at=T0, **arguments)
    else:
        getattr(referral, step.value.replace("-", "_"))(step_command(step), at=T0)


# The shortest path of steps from a new draft to each state.
PATHS: dict[State, list[Step]] = {
    State.DRAFT: [],
    State.REQUESTED: [Step.SEND],
    State.RECEIVED: [Step.SEND, Step.RECEIVE],
    State.ACCEPTED: [Step.SEND, Step.ACCEPT],
    State.DECLINED: [Step.SEND, Step.DECLINE],
    State.SCHEDULED: [Step.SEND, Step.ACCEPT, Step.SCHEDULE],
    State.NO_SHOW: [Step.SEND, Step.ACCEPT, Step.SCHEDULE, Step.RECORD_NO_SHOW],
    State.APPOINTMENT_CANCELLED: [Step.SEND, Step.ACCEPT, Step.SCHEDULE, Step.CANCEL_APPOINTMENT],
    State.ATTENDED: [Step.SEND, Step.ACCEPT, Step.SCHEDULE, Step.RECORD_ATTENDANCE],
    State.CANCELLATION_REQUESTED: [Step.SEND, Step.REQUEST_CANCELLATION],
    State.FULFILLMENT_CANCELLED: [Step.SEND, Step.REQUEST_CANCELLATION, Step.CONFIRM_CANCELLATION],
    State.CANCELLED: [Step.CANCEL],
    State.FAILED: [Step.SEND, Step.ACCEPT, Step.FAIL],
    State.COMPLETED: [Step.SEND, Step.ACCEPT, Step.SCHEDULE, Step.RECORD_ATTENDANCE, Step.COMPLETE],
    State.ENTERED_IN_ERROR: [Step.MARK_ENTERED_IN_ERROR],
}


def referral_in(state: State, referral_type: str = "detox") -> Referral:
    referral = new_referral(referral_type)
    for step in PATHS[state]:
        take(referral, step)
    assert referral.state is state
    return referral


class FakeConsentGate(ConsentGate):
    """Answers every decision request with a fixed outcome (or is down); remembers requests."""

    def __init__(self, outcome: str = "PERMIT", *, down: bool = False) -> None:
        self.outcome = outcome
        self.down = down
        self.requests: list[tuple[DecisionRequest, str | None]] = []
        self.on_behalf_of: list[str | None] = []  # the end caller named with each request
        self.correlation_ids: list[str | None] = []

    def answer(self, request: DecisionRequest, asking: Asking) -> ConsentDecision:
        if self.down:
            raise Unavailable("the consent service did not answer; retry shortly")
        self.requests.append((request, asking.token))
        self.on_behalf_of.append(asking.on_behalf_of)
        self.correlation_ids.append(asking.correlation_id)
        obligations = (
            [
                {
                    "code": "part2-redisclosure-notice",
                    "text": (
                        "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
                    ),
                }
            ]
            if self.outcome == "PERMIT" and "42CFRPart2" in request.labels
            else []
        )
        return ConsentDecision(
            decision_id=f"dec-{len(self.requests)}", outcome=self.outcome, obligations=obligations
        )


def plan_record(plan_id: uuid.UUID, event: str, body: dict[str, Any], n: int) -> InboundRecord:
    """The n-th `careledger.plan` record of one plan of practice-a, as the consumer gets it."""
    full = {"id": str(plan_id), "version": n, "timestamp": "2026-03-02T09:00:00+00:00", **body}
    return InboundRecord(
        topic="careledger.plan",
        partition=0,
        offset=n,
        ce_id=f"plan-record-{n}",
        ce_type=f"careledger.plan.{event}.v1",
        subject=str(plan_id),
        tenant="practice-a",
        body=full,
    )
