"""Seed one practice straight into the event stores for bench/reads.py (no HTTP).

Plans and referrals are built with their aggregates' own commands in Python and saved with
`save_as(ctx, *aggregates)`, 500 aggregates a transaction; consent decisions go through
`ConsentApplication.decide` with their saves joined the same way. Each read model is then
folded from the stored events by the read model's own fold (the in-memory variant reading the
store's notification log), copied into its table with COPY, and its position set to the last
event: what `careledger projections run` would have written, without a row at a time.

The practice: 20 care teams (a couples therapist and an individual therapist each), couples'
plans started over three years (70% active, 10% on hold, 10% completed, 10% draft) with a goal,
a joint session, individual sessions (some partners alone for weeks) and a review date spread
around today; referrals at every stage; decisions of every outcome; one person's disclosures.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from services.common.context import CommandContext
from services.common.readmodels.postgres import PostgresSummaries
from services.common.readmodels.summaries import InMemorySummaries
from services.common.store.application import CareApplication
from services.consent.application import ConsentApplication
from services.consent.domain import Decision
from services.consent.domain.commands import ActivateConsent, Decide, RecordConsent
from services.consent.domain.policy import decide
from services.consent.domain.terms import DecisionRequest, Recipient
from services.plan.domain import Plan
from services.plan.domain.commands import (
    AddGoal,
    ChangeSchedule,
    ChangeStatus,
    CreatePlan,
    RecordSession,
)
from services.plan.domain.sharing import in_force_of
from services.referral.domain import Referral, ServiceLevels, Step
from services.referral.domain.commands import STEP_COMMANDS, DraftReferral, SendReferral

TENANT = "practice-bench"
TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
TEAMS = 20
BATCH = 500
PERSON = "person-bench"  # whose disclosures are accounted for
DETOX = {"kind": "organization", "id": "org-detox", "name": "Harbor Detox"}


def lead(team: int) -> str:
    return f"clin-{team:02d}-lead"


def _saved(app: CareApplication, ctx: CommandContext, aggregates: list[Any]) -> int:
    for start in range(0, len(aggregates), BATCH):
        app.save_as(ctx, *aggregates[start : start + BATCH])
    return len(aggregates)


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days))


def plan(n: int, rng: random.Random) -> Plan:
    """One couple's plan of team n % TEAMS, in a state and with sessions chosen by `rng`."""
    team = n % TEAMS
    a, b = f"client-{n}-a", f"client-{n}-b"
    starts = _day(rng, dt.date(2024, 1, 1), TODAY - dt.timedelta(days=14))
    created = Plan.create(
        tenant=TENANT,
        command=CreatePlan(
            unit_kind="couple",
            members=[{"client_id": a, "sex": "female"}, {"client_id": b, "sex": "male"}],
            clinicians=[
                {"clinician_id": lead(team), "roles": ["couples-therapist"]},
                {"clinician_id": f"clin-{team:02d}-ind", "roles": ["individual-therapist"]},
            ],
            mix={"joint": 2, "individual": 2},
            starts_on=starts,
        ),
    )
    status = rng.choices(["active", "on-hold", "completed", "draft"], [70, 10, 10, 10])[0]
    if status == "draft":
        return created
    created.change_status(ChangeStatus(status="active"))
    goal = AddGoal(
        description="fewer shutdowns",
        partners=[a, b],
        measure="shutdowns",
        unit="per week",
        baseline=7,
        target=1,
        due_on=starts + dt.timedelta(days=180),
        status="active",
    )
    created.add_goal(goal)
    joint = starts + dt.timedelta(days=7)
    session = RecordSession(
        format="joint", modality="in-person", held_on=joint, focus_issues=["repair"]
    )
    created.record_session(session, None)
    view = {
        "agreement_id": "agr-1",
        "partner_ids": [a, b],
        "in_force": {"terms_version": 1, "mode": "no-secrets", "carve_outs": [], "signatures": {}},
    }
    alone = rng.choices([[], [a], [a, a], [a, b]], [30, 25, 15, 30])[0]
    for k, partner in enumerate(alone):
        held = min(joint + dt.timedelta(days=7 * (k + 1) + rng.randrange(200)), TODAY)
        individual = RecordSession(
            format="individual",
            modality="telehealth",
            held_on=held,
            focus_issues=["trust"],
            partner_id=partner,
            sharing_agreement_id="agr-1",
        )
        created.record_session(individual, in_force_of(view, [a, b]))
    review = TODAY + dt.timedelta(days=rng.randrange(-30, 90))
    if max(review, starts) != created.next_review_on:
        created.change_schedule(ChangeSchedule(next_review_on=max(review, starts)))
    if status != "active":
        created.change_status(ChangeStatus(status=status))
    return created


def referral(n: int, rng: random.Random, levels: ServiceLevels) -> Referral:
    """One referral of plan n, taken to a stage chosen by `rng`."""
    sent_at = NOW - dt.timedelta(hours=rng.randrange(24 * 120))
    drafted = Referral.draft(
        id=uuid.uuid4(),
        tenant=TENANT,
        command=DraftReferral(
            plan_id=uuid.UUID(int=n),
            client_id=f"client-{n}-a",
            referral_type=rng.choice(["detox", "psychiatry", "outpatient-sud"]),
            priority=rng.choice(["routine", "urgent"]),
            reason="assessment",
            coordinator_id=f"coord-{n % 5}",
            organization={"id": f"org-{n % 8}", "name": "Receiving programme"},
        ),
    )
    stage = rng.choices(range(6), [10, 20, 20, 20, 15, 15])[0]
    if stage == 0:
        return drafted
    drafted.send(SendReferral(), decision_id="dec-bench", obligations=[], levels=levels, at=sent_at)
    steps: list[tuple[Step, dict[str, Any]]] = [
        (Step.ACCEPT, {}),
        (Step.SCHEDULE, {"appointment_at": sent_at + dt.timedelta(days=3)}),
        (Step.RECORD_ATTENDANCE, {"attended_at": sent_at + dt.timedelta(days=3)}),
        (Step.COMPLETE, {"outcome": "treatment-completed"}),
    ]
    for k, (step, arguments) in enumerate(steps[: stage - 1]):
        at = sent_at + dt.timedelta(hours=2 + 24 * k)
        getattr(drafted, step.value.replace("-", "_"))(STEP_COMMANDS[step](**arguments), at=at)
    return drafted


def seed_plans(app: CareApplication, count: int, rng: random.Random) -> int:
    ctx = CommandContext(actor_id=lead(0), actor_role="clinician", tenant=TENANT)
    return _saved(app, ctx, [plan(n, rng) for n in range(count)])


def seed_referrals(app: CareApplication, count: int, rng: random.Random) -> int:
    ctx = CommandContext(actor_id="coord-0", actor_role="coordinator", tenant=TENANT)
    levels = ServiceLevels(timezone="UTC")
    return _saved(app, ctx, [referral(n, rng, levels) for n in range(count)])


def seed_decisions(app: ConsentApplication, count: int, rng: random.Random) -> int:
    """`count` decisions about 1,000 people (a tenth with a Part 2 consent), as
    `ConsentApplication.decide` makes them (the policy, then `Decision.record`), saved in
    batches."""
    clinician = CommandContext(actor_id="clin-00-lead", actor_role="clinician", tenant=TENANT)
    for person in [PERSON, *(f"person-{k}" for k in range(0, 1000, 10))]:
        terms = consent_terms(person)
        created = app.create_consent(ctx=clinician, command=RecordConsent(terms=terms))
        app.change_consent(
            ctx=clinician, consent_id=created["consent_id"], command=ActivateConsent()
        )
    people = [f"person-{k}" for k in range(1000)]
    # What ConsentApplication.decide reads from the store, read once a person: their consents.
    consents = {p: [c.terms() for c in app.consents_of(TENANT, p)] for p in people}
    decisions = []
    for n in range(count):
        person = rng.choice(people)
        request = DecisionRequest(
            person_id=person,
            actor_id=f"clin-{n % TEAMS:02d}-lead",
            recipient=Recipient(**DETOX),
            purpose="TREAT",
            categories=frozenset({rng.choice(["assessment", "substance-use"])}),
            labels=frozenset(),
            at=NOW - dt.timedelta(minutes=n),
        )
        outcome = decide(request, consents[person], None)
        decisions.append(
            Decision.record(
                tenant=TENANT,
                request=request,
                outcome=outcome,
                validity=app.decision_validity,
                records=[],
            )
        )
    return _saved(app, clinician, decisions)


def consent_terms(person: str) -> dict[str, Any]:
    return {
        "person_id": person,
        "status": "draft",
        "scope": "patient-privacy",
        "part2": True,
        "disclosers": [TENANT],
        "description": "substance use assessment",
        "recipients": [DETOX],
        "purposes": ["TREAT"],
        "categories": ["substance-use", "assessment"],
        "labels": ["42CFRPart2", "ETH"],
        "provision_type": "permit",
        "provisions": [],
        "start": dt.date(2024, 1, 1),
        "end": dt.date(2028, 1, 1),
        "expiry_event": None,
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": person, "signed_on": "2024-01-01"},
    }


def fill(read_model: PostgresSummaries[Any], app: CareApplication) -> int:
    """Fold every stored event into the read model's rows and COPY them in, then set its
    position: the rows the projection would have written one event at a time."""
    caught = read_model._caught  # made by `current(app)` before the events were saved
    if caught is None:
        raise RuntimeError("call read_model.current(app) before seeding")
    projection = caught.projection  # not caught up: that would apply one event at a time
    folded: InMemorySummaries[Any] = InMemorySummaries(read_model.kind)
    folded.log.catch_up(app, batch=5000)
    kind = read_model.kind
    rows = [kind.row(sid, s) for sid, s in folded.summaries.items()]
    if not rows:
        return 0
    names = list(rows[0])
    tracking = sql.Identifier(projection.schema, "projection_tracking")
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        projection.table_id(), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    with read_model._store.transaction() as cur:  # the read model's own pool
        cur.execute(  # whatever a catch-up wrote meanwhile: the fold holds all of it
            sql.SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(tracking),
            (projection.name,),
        )
        cur.execute(sql.SQL("DELETE FROM {}").format(projection.table_id()))
        with cur.copy(copy) as writer:
            for row in rows:
                row["data"] = Jsonb(kind.to_json(row["data"]))
                writer.write_row([row[n] for n in names])
        cur.execute(
            sql.SQL("UPDATE {} SET position = %s WHERE name = %s").format(tracking),
            (folded.log.position, projection.name),
        )
        cur.execute(sql.SQL("ANALYZE {}").format(projection.table_id()))
    return len(rows)


def timed(label: str, work: Callable[[], int]) -> float:
    began = time.perf_counter()
    count = work()
    elapsed = time.perf_counter() - began
    print(f"  seeded {label:<22} {count:>8} in {elapsed:6.1f} s", flush=True)
    return elapsed


def seed_disclosures(app: ConsentApplication, count: int) -> int:
    """`count` disclosures of PERSON to the detox programme, each on its own PERMIT, through
    the application's commands (each its own transaction)."""
    from services.consent.domain.commands import RecordDisclosure

    ctx = CommandContext(actor_id="clin-00-lead", actor_role="clinician", tenant=TENANT)
    made = 0
    for _ in range(count):
        at = app.clock()  # a disclosure is recorded on a decision still valid
        request = DecisionRequest(
            person_id=PERSON,
            actor_id=ctx.actor_id,
            recipient=Recipient(**DETOX),
            purpose="TREAT",
            categories=frozenset({"substance-use"}),
            labels=frozenset({"42CFRPart2"}),
            at=at,
        )
        decision = app.decide(ctx=ctx, command=Decide(request=request))
        terms = {
            "person_id": PERSON,
            "decision_id": decision["decision_id"],
            "recipient": DETOX,
            "description": "intake assessment",
            "categories": ["substance-use"],
            "labels": ["42CFRPart2"],
            "purpose": "TREAT",
            "disclosed_at": at,
            "obligations_met": [o["code"] for o in decision.get("obligations") or []],
        }
        app.record_disclosure(ctx=ctx, command=RecordDisclosure(terms=terms))
        made += 1
    return made


__all__: Sequence[str] = [
    "PERSON",
    "TENANT",
    "TODAY",
    "fill",
    "lead",
    "seed_decisions",
    "seed_disclosures",
    "seed_plans",
    "seed_referrals",
    "timed",
]
