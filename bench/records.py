"""CPU cost of building one Kafka record (`build_record`) for real plan events, per event type.

    .venv/bin/python bench/records.py [--repeat 4000] [--rounds 7]

No stack needed: a plan is recorded in memory (status, goal, sessions, a PHQ-9, a format shift,
a review), then each stored event's record is built `--repeat` times per round; the figure is
the best round's process CPU time per record (CPU time, so other work on the machine counts
little), by event type and for the mix. This is the relay reader's share of a record's cost
(decode not included). Prints the figures and, last, one line of JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from typing import Any
from uuid import UUID

from contracts.envelope import build_record
from services.common.context import CommandContext
from services.common.events import decode_state
from services.common.store.application import build_application
from services.plan.application import PlanApplication
from services.plan.domain.commands import (
    AddGoal,
    ChangeStatus,
    CreatePlan,
    RecordMeasurement,
    RecordReview,
    RecordSession,
    ShiftFormat,
)

A, B, CLINICIAN = "client-a", "client-b", "clin-1"
PLAN = {
    "unit_kind": "couple",
    "mix": {"joint": 2, "individual": 2},
    "starts_on": dt.date(2026, 1, 5),
    "members": [{"client_id": A, "sex": "female"}, {"client_id": B, "sex": "male"}],
    "clinicians": [{"clinician_id": CLINICIAN, "roles": ["couples-therapist"]}],
}
GOAL = {
    "description": "reduce shutdowns from daily to weekly",
    "partners": [A, B],
    "measure": "shutdowns",
    "unit": "per week",
    "baseline": 7,
    "target": 1,
    "due_on": dt.date(2026, 6, 1),
    "status": "active",
}
SESSION = {
    "format": "joint",
    "modality": "in-person",
    "held_on": dt.date(2026, 1, 12),
    "clinician_id": CLINICIAN,
    "focus_issues": ["repair after fights", "shared time"],
    "homework": ["pause card twice this week"],
    "check_ins": [
        {"partner_id": A, "mood": 6, "triggers": ["late reply to texts"]},
        {"partner_id": B, "mood": 4, "triggers": []},
    ],
}
ALONE = {
    **SESSION,
    "format": "individual",
    "partner_id": A,
    "check_ins": [],
    "modality": "telehealth",
    "sharing_agreement_id": "agreement-7",
}
SHIFT = {
    "reason": "coercive-control",
    "about_partner_id": A,
    "decided_by": CLINICIAN,
    "rationale": "disclosed monitoring of phone and finances in individual session",
    "effective_on": dt.date(2026, 2, 1),
    "review_on": dt.date(2026, 3, 1),
    "mix": {"joint": 0, "individual": 4},
}


def stored_plan_events() -> list[dict[str, Any]]:
    app: PlanApplication = build_application(PlanApplication, None)
    ctx = CommandContext(actor_id=CLINICIAN, actor_role="clinician", tenant="bench")
    plan_id = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**PLAN))["plan_id"])
    app.change_status(ctx=ctx, plan_id=plan_id, command=ChangeStatus(status="active"))
    app.add_goal(ctx=ctx, plan_id=plan_id, command=AddGoal(**GOAL))
    app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**SESSION))
    app.record_session(ctx=ctx, plan_id=plan_id, command=RecordSession(**ALONE))
    app.record_measurement(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordMeasurement(
            partner_id=A, measure="phq-9", items=[1] * 9, taken_on=dt.date(2026, 1, 9)
        ),
    )
    app.shift_format(ctx=ctx, plan_id=plan_id, command=ShiftFormat(**SHIFT))
    app.record_review(
        ctx=ctx,
        plan_id=plan_id,
        command=RecordReview(held_on=dt.date(2026, 2, 2), next_mix={"individual": 2}),
    )
    return [
        {
            "stored_topic": n.topic,
            "aggregate_id": n.originator_id,
            "version": n.originator_version,
            "position": n.id,
            "state": decode_state(app.mapper, n.topic, n.state),
        }
        for n in app.recorder.select_notifications(1, 100)
    ]


def cpu_us(arguments: dict[str, Any], repeat: int, rounds: int) -> float:
    build_record(**arguments)  # schema loaded, caches warm
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(repeat):
            build_record(**arguments)
        best = min(best, (time.process_time() - started) / repeat * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for arguments in stored_plan_events():
        name = arguments["stored_topic"].rsplit(".", 1)[1]
        figures[name] = round(cpu_us(arguments, args.repeat, args.rounds), 1)
    mix = round(sum(figures.values()) / len(figures), 1)
    for name, us in figures.items():
        print(f"{name:>20}: {us:6.1f} us CPU per record")
    print(f"{'mix':>20}: {mix:6.1f} us")
    print(json.dumps({"us_per_record": figures, "mix_us": mix}))


if __name__ == "__main__":
    main()
