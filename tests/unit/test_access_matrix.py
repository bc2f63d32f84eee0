"""Every route of every service names its roles, and the gate holds: 401, 403, 404, never 500.

Each service's app is built in memory. Its routes are enumerated from `app.routes` (so a new route
is checked without editing this file) and each is called as every role, without a token, and with
a token of another practice. One record per service is created first so that path parameters name
real records: a role that is let through reaches the handler, and a foreign practice gets a 404.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient

from contracts.records import InboundRecord
from services.common.auth.callers import ALL_ROLES, TokenService
from services.common.context import CommandContext
from services.common.settings import Settings
from services.consent.bootstrap import build_consents
from services.consent.bootstrap import create_app as consent_app
from services.plan.bootstrap import build_plans
from services.plan.bootstrap import create_app as plan_app
from services.referral import reactions
from services.referral.bootstrap import build_referrals
from services.referral.bootstrap import create_app as referral_app
from tests.unit.plan.support_api_client import goal_body, plan_body
from tests.unit.plan.support_builders import ALEX
from tests.unit.referral.support_api_client import referral_body
from tests.unit.referral.support_helpers import FakeConsentGate

SETTINGS = Settings(env="dev")
TOKENS = TokenService(SETTINGS)
HOME, FOREIGN = "practice-home", "practice-foreign"
UNGUARDED = {
    "/health",
    "/ready",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/openapi.json",
    "/redoc",
}
RECORD_PARAMS = {"plan_id", "goal_id", "agreement_id", "consent_id", "decision_id", "referral_id"}
DETOX = {"kind": "organization", "id": "org-detox", "name": "Harbor Detox"}


def bearer(roles: list[str], tenant: str = HOME) -> dict[str, str]:
    """A token with these roles; a client's token stands alone and names its patient."""
    if "client" in roles and len(roles) > 1:
        roles = [r for r in roles if r != "client"]
    patient = ALEX if roles == ["client"] else None
    token = TOKENS.mint("access-probe", tenant, roles, patient=patient)
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[str] | None  # None: no allow(...) dependency found

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class World:
    """A service's in-memory app, a client on it, and the ids of the home practice's records."""

    app: FastAPI
    client: TestClient
    ids: dict[str, str] = field(default_factory=dict)

    def url(self, route: Route) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.ids.get(m.group(1), "1"), route.path)

    def call(self, route: Route, headers: dict[str, str]) -> Any:
        body = None if route.method in ("GET", "DELETE") else {}
        return self.client.request(route.method, self.url(route), json=body, headers=headers)


def allowed_roles(dependant: Any) -> frozenset[str] | None:
    """The roles of the first `allow(...)` dependency found in the dependency tree."""
    for sub in dependant.dependencies:
        roles = getattr(sub.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(str(role) for role in roles)
        found = allowed_roles(sub)
        if found is not None:
            return found
    return None


def routes_of(app: FastAPI) -> list[Route]:
    """Every API route of the app (included routers flattened), minus the unguarded ones."""
    found = []
    for context in routing.iter_route_contexts(app.routes):
        if not isinstance(context.original_route, routing.APIRoute):
            continue
        if context.path_format in UNGUARDED:
            continue
        for method in sorted(context.methods or ()):
            found.append(Route(method, context.path_format, allowed_roles(context.dependant)))
    return found


def created(response: Any, key: str) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[key])


def seed_plan(client: TestClient) -> dict[str, str]:
    """A couple's plan whose couples therapist is the probe (so a clinician is on the team)."""
    clinician = bearer(["clinician"])
    team = [{"clinician_id": "access-probe", "roles": ["couples-therapist"]}]
    body = plan_body(clinicians=team)
    plan_id = created(client.post("/plans", json=body, headers=clinician), "plan_id")
    goal = client.post(f"/plans/{plan_id}/goals", json=goal_body(), headers=clinician)
    return {"plan_id": plan_id, "goal_id": created(goal, "goal_id"), "version": "1"}


def seed_consent(client: TestClient) -> dict[str, str]:
    clinician = bearer(["clinician"])
    agreement = {"partner_ids": ["person-a", "person-b"], "mode": "limited-secrets"}
    consent = {
        "person_id": "person-a",
        "disclosers": ["practice-home"],
        "description": "assessment and treatment plan",
        "recipients": [DETOX],
        "purposes": ["TREAT"],
        "categories": ["assessment"],
        "start": "2026-01-01",
        "end": "2027-01-01",
        "revocation_right_acknowledged": True,
        "signature": {"signed_by": "person-a", "signed_on": "2026-01-01"},
    }
    decision = {
        "person_id": "person-a",
        "recipient": DETOX,
        "purpose": "TREAT",
        "categories": ["assessment"],
        "labels": [],
    }
    ids = {"person_id": "person-a", "version": "1"}
    for path, body, key in (
        ("/agreements", agreement, "agreement_id"),
        ("/consents", consent, "consent_id"),
        ("/decisions", decision, "decision_id"),
    ):
        ids[key] = created(client.post(path, json=body, headers=clinician), key)
    return ids


def seed_referral(client: TestClient) -> dict[str, str]:
    """A referral of a plan whose care team (as plan records told it) has the probe as lead."""
    plan_id = str(uuid.uuid4())
    team = {
        "id": plan_id,
        "version": 1,
        "timestamp": "2026-01-05T09:00:00+00:00",
        "members": [{"client_id": "client-1", "sex": "female"}],
        "clinicians": [{"clinician_id": "access-probe", "roles": ["couples-therapist"]}],
    }
    record = InboundRecord(
        topic="careledger.plan",
        partition=0,
        offset=0,
        ce_id=f"{plan_id}/1",
        ce_type="careledger.plan.PlanCreated.v1",
        subject=plan_id,
        tenant=HOME,
        body=team,
    )
    referrals = client.app.state.application  # type: ignore[attr-defined]
    system = CommandContext(actor_id="referral-consumer", actor_role="system", tenant=HOME)
    referrals.save_as(system, *reactions.react(referrals, record))
    body = referral_body(plan_id=plan_id)
    response = client.post("/referrals", json=body, headers=bearer(["coordinator"]))
    return {"referral_id": created(response, "id"), "version": "1"}


BUILDERS: dict[str, tuple[Callable[[], FastAPI], Callable[[TestClient], dict[str, str]]]] = {
    "plan": (
        lambda: plan_app(SETTINGS, build_plans(None), gate=FakeConsentGate("DENY")),
        seed_plan,
    ),
    "consent": (lambda: consent_app(SETTINGS, build_consents(None)), seed_consent),
    "referral": (
        lambda: referral_app(SETTINGS, build_referrals(None, gate=FakeConsentGate())),
        seed_referral,
    ),
}


@pytest.fixture(params=sorted(BUILDERS))
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    build, seed = BUILDERS[request.param]
    app = build()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(app, client, seed(client))


def test_every_route_declares_the_roles_that_may_call_it(world: World) -> None:
    routes = routes_of(world.app)
    assert len(routes) >= 10, f"too few routes found: {routes}"
    unguarded = [str(r) for r in routes if not r.allowed]
    assert unguarded == [], f"routes without an allow(...) dependency: {unguarded}"


def test_a_role_outside_the_allowed_ones_gets_403_and_an_allowed_one_gets_past_the_gate(
    world: World,
) -> None:
    wrong: list[str] = []
    for route in routes_of(world.app):
        for role in ALL_ROLES:
            status = world.call(route, bearer([role.value])).status_code
            if role.value in (route.allowed or ()):
                if status in (401, 403) or status >= 500:
                    wrong.append(f"{route} as allowed {role.value}: {status}")
            elif status != 403:
                wrong.append(f"{route} as {role.value} (not allowed): {status}, expected 403")
    assert wrong == [], "\n".join(wrong)


def test_a_request_without_a_token_or_with_a_bad_one_gets_401(world: World) -> None:
    wrong: list[str] = []
    forged = {"Authorization": "Bearer " + TOKENS.mint("x", HOME, ["admin"])[:-4] + "AAAA"}
    for route in routes_of(world.app):
        for label, headers in (("no token", {}), ("forged token", forged)):
            response = world.call(route, headers)
            if response.status_code != 401:
                wrong.append(f"{route} with {label}: {response.status_code}, expected 401")
            elif not response.headers["content-type"].startswith("application/problem+json"):
                wrong.append(f"{route} with {label}: 401 is not problem+json")
    assert wrong == [], "\n".join(wrong)


def test_another_practice_gets_404_for_a_home_record_and_never_sees_one(world: World) -> None:
    foreign = bearer([r.value for r in ALL_ROLES], tenant=FOREIGN)
    home_ids = [v for k, v in world.ids.items() if k in RECORD_PARAMS]
    wrong: list[str] = []
    for route in routes_of(world.app):
        names_record = bool(RECORD_PARAMS & set(re.findall(r"\{(\w+)\}", route.path)))
        response = world.call(route, foreign)
        status = response.status_code
        if status >= 500:
            wrong.append(f"{route} from another practice: {status}")
        elif route.method == "GET" and names_record and status != 404:
            wrong.append(f"{route} from another practice: {status}, expected 404")
        elif route.method != "GET" and names_record and 200 <= status < 300:
            wrong.append(f"{route} from another practice changed a home record: {status}")
        url = world.url(route)
        leaked = [i for i in home_ids if i in response.text and i not in url]
        if leaked:
            wrong.append(f"{route} from another practice shows home ids {leaked}")
    assert wrong == [], "\n".join(wrong)


def test_the_home_practice_reads_its_own_records(world: World) -> None:
    """The 404s above are about the tenant, not about records that do not exist."""
    everyone = bearer([r.value for r in ALL_ROLES])
    reads = [r for r in routes_of(world.app) if r.method == "GET" and "{" in r.path]
    failing = [
        f"{route}: {status}"
        for route in reads
        if (status := world.call(route, everyone).status_code) != 200
        and RECORD_PARAMS & set(re.findall(r"\{(\w+)\}", route.path))
    ]
    assert failing == [], "\n".join(failing)


def test_every_read_answered_leaves_an_access_event_naming_what_it_touched(world: World) -> None:
    """Committed before the answer (services/common/access/log.py), for every read route."""
    everyone = bearer([r.value for r in ALL_ROLES])
    compliance = bearer(["compliance"])
    unlogged: list[str] = []
    for route in routes_of(world.app):
        if route.method != "GET" or route.path == "/access-log":
            continue
        answer = world.call(route, everyone)
        if answer.status_code != 200:
            continue  # refusals are logged too; the tests above check the statuses
        log = world.client.get("/access-log", params={"limit": 1}, headers=compliance).json()
        newest = log["items"][0] if log["items"] else {}
        if newest.get("route") != f"GET {route.path}" or newest.get("status") != 200:
            unlogged.append(str(route))
    assert unlogged == [], "reads that left no access event:\n" + "\n".join(unlogged)
