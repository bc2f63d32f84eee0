"""A clinician's worklist is cut by the care teams in one condition, and it keeps exactly the
referrals the read policy lets them read, row by row.

`seed_practice` notes random care teams on many plans (leads, individual therapists of one or
two clients, coordinating members, members who left, break-glass grants in force and expired)
and puts referrals of every plan's clients on the worklist; for every kind of caller, the pages
of `readable_worklist` must list the same referrals, in the same order, as placing the caller
against each referral with `reader_of` (what a single read does).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from services.common.readmodels.query import Window
from services.common.viewer import Viewer
from services.referral.application import ReferralApplication
from services.referral.domain import read_policy as rp
from services.referral.reads import placed, readable_worklist
from services.referral.team_rows import teams_of
from services.referral.worklist import WorklistFilter
from tests.unit.referral.conftest import Clock
from tests.unit.referral.support_helpers import CTX, plan_record
from tests.unit.referral.test_reactions import deliver
from tests.unit.referral.test_worklist_and_metrics import sent

CLINICIANS = [f"clin-{n}" for n in range(6)]
ROLES = (["couples-therapist"], ["family-therapist"], ["individual-therapist"], ["coordinator"])


def _note_team(app: ReferralApplication, rnd: random.Random, plan: uuid.UUID, n: int) -> int:
    clients = [f"client-{plan.hex[:6]}-{i}" for i in range(rnd.randint(1, 3))]
    members = [{"client_id": c} for c in clients]
    first = rnd.choice(CLINICIANS)
    records = [
        (
            "PlanCreated",
            {
                "members": members,
                "clinicians": [
                    {
                        "clinician_id": first,
                        "roles": list(rnd.choice(ROLES)),
                        "clients": clients[:1],
                    }
                ],
            },
        )
    ]
    for clinician in rnd.sample(CLINICIANS, rnd.randint(0, 3)):
        roles = list(rnd.choice(ROLES))
        named = rnd.sample(clients, rnd.randint(0, len(clients)))
        body = {"clinician_id": clinician, "reason": "intake", "roles": roles, "clients": named}
        records.append(("ClinicianAssigned", body))
        if rnd.random() < 0.2:
            records.append(("ClinicianRemoved", {"clinician_id": clinician, "reason": "left"}))
    if rnd.random() < 0.4:
        hours = rnd.choice((-5, 8))  # expired, or in force
        until = (app.clock() + dt.timedelta(hours=hours)).isoformat()
        grant = {"grant_id": f"g-{n}", "clinician_id": rnd.choice(CLINICIANS), "until": until}
        records.append(("EmergencyAccessGranted", {**grant, "granted_at": until}))
    for event, body in records:
        n += 1
        deliver(app, plan_record(plan, event, body, n))
    for client in clients:
        sent(app, client_id=client, plan_id=plan)  # type: ignore[arg-type]
    return n


def seed_practice(app: ReferralApplication, rnd: random.Random, plans: int = 12) -> None:
    """Random care teams on `plans` plans (and one plan without a team), each client's referral
    sent, and ten days passed: every referral is overdue for acknowledgement."""
    n = 0
    for _ in range(plans):
        n = _note_team(app, rnd, uuid.uuid4(), n)
    sent(app, client_id="client-without-team", plan_id=uuid.uuid4())  # type: ignore[arg-type]
    clock: Clock = app.clock  # type: ignore[assignment]
    clock.advance(days=10)


def viewers() -> list[Viewer]:
    found = [Viewer(c, CTX.tenant, frozenset({"clinician"})) for c in CLINICIANS]
    found += [Viewer(c, CTX.tenant, frozenset({"clinician", "coordinator"})) for c in CLINICIANS]
    return [
        *found,
        Viewer("clin-outsider", CTX.tenant, frozenset({"clinician"})),
        Viewer("clin-0", CTX.tenant, frozenset({"clinician", "compliance"})),
        Viewer("clin-0", CTX.tenant, frozenset({"clinician"}), patient="client-x"),
        Viewer("coord-1", CTX.tenant, frozenset({"coordinator"})),
        Viewer("clin-0", "practice-b", frozenset({"clinician"})),
    ]


def walk(app: ReferralApplication, viewer: Viewer, limit: int) -> tuple[list[str], int]:
    ids: list[str] = []
    window = Window(limit=limit)
    while True:
        found = readable_worklist(app, viewer, WorklistFilter(), window)
        ids += [row["id"] for row in found.rows]
        if found.next_cursor is None:
            return ids, found.total
        window = Window(limit=limit, cursor=found.next_cursor)


def row_by_row(app: ReferralApplication, viewer: Viewer) -> list[str]:
    """The worklist placed one referral at a time, as a single read places its caller."""
    rows: list[dict[str, Any]] = app.worklist(
        tenant=viewer.tenant, query=WorklistFilter(), window=Window(limit=200)
    ).rows
    return [r["id"] for r in rows if rp.may_read(placed(app, viewer, r["plan_id"], r["client_id"]))]


def check_every_caller(app: ReferralApplication, limits: tuple[int, ...] = (7, 200)) -> None:
    everyone = row_by_row(app, Viewer("coord-1", CTX.tenant, frozenset({"coordinator"})))
    assert len(everyone) > 20
    for viewer in viewers():
        expected = row_by_row(app, viewer)
        for limit in limits:
            assert walk(app, viewer, limit) == (expected, len(expected)), (viewer, limit)
    assert walk(app, Viewer("clin-outsider", CTX.tenant, frozenset({"clinician"})), 50) == ([], 0)


def test_the_care_team_cut_keeps_exactly_what_the_read_policy_lets_each_caller_read(
    app: ReferralApplication,
) -> None:
    for seed in range(3):
        seed_practice(app, random.Random(seed))
    check_every_caller(app)


def test_reach_is_the_read_policy_for_every_client_at_once(app: ReferralApplication) -> None:
    seed_practice(app, random.Random(7), plans=20)
    now = app.clock()
    for team in teams_of(app, app.teams, tenant=CTX.tenant, clinician_id="clin-1"):
        clients = [*team.members, "client-elsewhere", None]
        for viewer in viewers():
            found = rp.reach(viewer, team, now)
            for client in clients:
                kind = rp.reader_of(viewer, team, client, now)
                assert found.covers(client) is rp.may_read(kind), (viewer, client)
