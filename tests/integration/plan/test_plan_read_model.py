"""The plan list and worklists in PostgreSQL answer as the in-memory fold does, paged by SQL.

One plan application on a private schema holds plans of two care teams, a client's plans in
both, a break-glass grant and plans due for review or with one partner attending alone. Over
HTTP, its PostgreSQL read model and an in-memory fold of the same event log must give every
caller the same plans in the same order, page by page along the cursors and the offsets; a
clinician outside the care teams sees nothing, as before; each read is in the access log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.common.auth.callers import TokenService
from services.common.context import CommandContext
from services.common.settings import Settings, load_settings
from services.plan.agreements import InMemoryAgreements
from services.plan.application import PlanApplication
from services.plan.bootstrap import build_plans, close_plans, create_app
from services.plan.domain.commands import (
    AddGoal,
    BreakGlass,
    ChangeStatus,
    CreatePlan,
    RecordSession,
)
from services.plan.projections import PostgresSummaries, in_memory
from tests.unit.plan.support_builders import (
    ALEX,
    SAM,
    TENANT,
    agreement_view,
    couple_plan_fields,
    individual_session,
    joint_goal,
)
from tests.unit.referral.support_helpers import FakeConsentGate

pytestmark = pytest.mark.integration
TEAMS = {"clin-a": 5, "clin-b": 4}  # plans of each team
LISTERS = ["clin-a", "clin-b", "clin-er", "clin-none", "coordinator", "client", "stranger"]


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    name = f"plan_rm_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, env="dev")


@pytest.fixture
def plans(settings: Settings, schema: str) -> Iterator[PlanApplication]:
    cls = type("PlanReadModelIt", (PlanApplication,), {"name": schema})
    app = build_plans(settings, application_class=cls, create_table=True)
    agreements = InMemoryAgreements()
    agreements.put(TENANT, agreement_view())
    app.agreements = agreements
    yield app
    close_plans(app)


def twin_of(app: PlanApplication) -> PlanApplication:
    """The same application reading an in-memory fold of its own event log."""
    twin = object.__new__(type(app))
    twin.__dict__.update(app.__dict__)
    twin.read_model = in_memory()
    return twin


def seed(app: PlanApplication) -> dict[str, list[str]]:
    """Plans of two teams (one in draft, one completed), goals, sessions and a grant."""
    made: dict[str, list[str]] = {name: [] for name in TEAMS}
    for clinician, count in TEAMS.items():
        ctx = CommandContext(actor_id=clinician, actor_role="clinician", tenant=TENANT)
        for n in range(count):
            starts = dt.date(2026, 1, 5) + dt.timedelta(days=7 * n)
            members = (
                None
                if n % 2
                else [
                    {"client_id": f"client-{n}", "sex": "female"},
                    {"client_id": SAM, "sex": "male"},
                ]
            )
            fields = couple_plan_fields(
                starts_on=starts,
                clinicians=[{"clinician_id": clinician, "roles": ["couples-therapist"]}],
                **({"members": members} if members else {}),
            )
            pid = UUID(app.create_plan(ctx=ctx, command=CreatePlan(**fields))["plan_id"])
            made[clinician].append(str(pid))
            if n == count - 1:
                continue  # a draft: listed, never due
            status = "completed" if n == 2 else "active"
            app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status="active"))
            app.add_goal(ctx=ctx, plan_id=pid, command=AddGoal(**joint_goal(partners=[SAM])))
            if n % 2 and clinician == "clin-a":  # ALEX alone since January
                day = starts + dt.timedelta(days=7)
                session = individual_session(ALEX, held_on=day, clinician_id=clinician)
                app.record_session(ctx=ctx, plan_id=pid, command=RecordSession(**session))
            if status != "active":
                app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status=status))
    er = CommandContext(actor_id="clin-er", actor_role="clinician", tenant=TENANT)
    app.break_glass(
        ctx=er, plan_id=UUID(made["clin-b"][1]), command=BreakGlass(justification="ER tonight")
    )
    return made


def auth(who: str, settings: Settings) -> dict[str, str]:
    tokens = TokenService(settings)
    if who in ("client", "stranger"):
        patient = ALEX if who == "client" else "client-zed"
        token = tokens.mint(f"portal-{who}", TENANT, ["client"], patient=patient)
    elif who.startswith("clin-"):
        token = tokens.mint(who, TENANT, ["clinician"])
    else:
        token = tokens.mint(f"user-{who}", TENANT, [who])
    return {"Authorization": f"Bearer {token}"}


def walk(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    """Every item of a list, page by page along `next_cursor` (limit 2)."""
    items: list[Any] = []
    query: dict[str, Any] = {**params, "limit": 2}
    while True:
        answer = client.get(path, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        query = {**params, "limit": 2, "cursor": body["next_cursor"]}


def by_offset(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    items: list[Any] = []
    offset: int | None = 0
    while offset is not None:
        body = client.get(path, params={**params, "limit": 3, "offset": offset}, headers=headers)
        items += body.json()["items"]
        offset = body.json()["next_offset"]
    return items


@pytest.fixture
def clients(settings: Settings, plans: PlanApplication) -> Iterator[tuple[TestClient, TestClient]]:
    gate = FakeConsentGate("DENY")
    pg = TestClient(create_app(settings, plans, gate=gate), raise_server_exceptions=False)
    memory = TestClient(create_app(settings, twin_of(plans), gate=gate))
    with pg, memory:
        yield pg, memory


def test_each_caller_lists_the_same_plans_in_the_same_order_from_sql_and_memory(
    plans: PlanApplication, settings: Settings, clients: tuple[TestClient, TestClient]
) -> None:
    made = seed(plans)
    assert isinstance(plans.read_model, PostgresSummaries)
    pg, memory = clients
    every = made["clin-a"] + made["clin-b"]
    expected = {
        "clin-a": made["clin-a"],
        "clin-b": made["clin-b"],
        "clin-er": [made["clin-b"][1]],  # break-glass
        "clin-none": [],
        "coordinator": every,
        "client": [p for team in made.values() for p in team[1::2]],  # ALEX: the odd plans
        "stranger": [],
    }
    for who in LISTERS:
        headers = auth(who, settings)
        listed = [p["id"] for p in walk(pg, "/plans", headers)]
        assert listed == expected[who], who
        assert [p["id"] for p in walk(memory, "/plans", headers)] == listed, who
        assert [p["id"] for p in by_offset(pg, "/plans", headers)] == listed, who
        first = pg.get("/plans", headers=headers).json()
        assert (first["total"], first["total_exact"]) == (len(listed), True), who
    subject = walk(pg, "/plans", auth("coordinator", settings), subject=ALEX)
    assert [p["id"] for p in subject] == expected["client"]


def test_a_clinician_outside_the_care_team_sees_nothing_more_than_before(
    plans: PlanApplication, settings: Settings, clients: tuple[TestClient, TestClient]
) -> None:
    seed(plans)
    pg, _ = clients
    outsider = auth("clin-none", settings)
    for path in ("/plans", "/worklists/reviews-due", "/worklists/uneven-growth"):
        body = pg.get(path, params={"on": "2026-06-01"}, headers=outsider).json()
        assert (body["items"], body["total"], body["next_cursor"]) == ([], 0, None), path
    assert pg.get("/plans", params={"subject": SAM}, headers=outsider).json()["items"] == []
    assert pg.get("/break-glass/reviews", headers=outsider).status_code == 403


def test_the_worklists_page_alike_in_sql_and_memory_and_match_the_whole_lists(
    plans: PlanApplication, settings: Settings, clients: tuple[TestClient, TestClient]
) -> None:
    made = seed(plans)
    pg, memory = clients
    day = dt.date(2026, 4, 1)
    whole = {
        "/worklists/reviews-due": plans.reviews_due(TENANT, today=day, within_days=30),
        "/worklists/uneven-growth": plans.uneven_growth(TENANT, today=day),
    }
    params = {"/worklists/reviews-due": {"within_days": 30}, "/worklists/uneven-growth": {}}
    for who in ("coordinator", "clin-a", "clin-b"):
        headers = auth(who, settings)
        for path, rows in whole.items():
            found = walk(pg, path, headers, on=day.isoformat(), **params[path])
            assert found == walk(memory, path, headers, on=day.isoformat(), **params[path])
            mine = made[who] if who in made else made["clin-a"] + made["clin-b"]
            wanted = [r["plan_id"] for r in rows if r["plan_id"] in mine]
            assert [r["plan_id"] for r in found] == wanted, (who, path)
    due = [r["plan_id"] for r in whole["/worklists/reviews-due"]]
    assert len(due) == 5 and made["clin-a"][2] not in due  # a completed plan is not due
    dues = [r["due_on"] for r in whole["/worklists/reviews-due"]]
    assert dues == sorted(dues)
    assert [r["plan_id"] for r in whole["/worklists/uneven-growth"]] == made["clin-a"][1:4:2]
    queue = pg.get("/break-glass/reviews", headers=auth("compliance", settings)).json()
    assert [r["plan_id"] for r in queue["items"]] == [made["clin-b"][1]]


def test_a_cursor_this_list_did_not_give_out_is_a_422(
    plans: PlanApplication, settings: Settings, clients: tuple[TestClient, TestClient]
) -> None:
    seed(plans)
    pg, _ = clients
    headers = auth("coordinator", settings)
    for params in ({"cursor": "bm90LWEta2V5"}, {"cursor": "x", "offset": 2}):
        answer = pg.get("/plans", params=params, headers=headers)
        assert answer.status_code == 422, answer.text


def test_every_list_read_is_in_the_access_log(
    plans: PlanApplication, settings: Settings, clients: tuple[TestClient, TestClient]
) -> None:
    made = seed(plans)
    pg, _ = clients
    headers = auth("clin-a", settings)
    pg.get("/plans", params={"limit": 2}, headers=headers)
    pg.get("/worklists/reviews-due", params={"on": "2026-04-01"}, headers=headers)
    compliance = auth("compliance", settings)
    rows = pg.get("/access-log", params={"user": "clin-a"}, headers=compliance).json()["items"]
    records = [[r["id"] for r in row["what"]["records"]] for row in rows]
    assert made["clin-a"][:2] in records  # the list's page, as shown
    assert all(set(ids) <= set(made["clin-a"]) for ids in records)
    assert len(rows) == 2
