"""Fixtures for the plan service's unit tests: an in-memory PlanApplication and a couple's plan."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.common.context import CommandContext
from services.common.store.application import build_application
from services.plan.agreements import InMemoryAgreements
from services.plan.application import PlanApplication
from services.plan.bootstrap import create_app
from services.plan.domain.commands import ChangeStatus, CreatePlan
from tests.unit.plan.support_api_client import SETTINGS
from tests.unit.plan.support_builders import TENANT, THERAPIST, agreement_view, couple_plan_fields
from tests.unit.plan.support_contract_check import contract_errors
from tests.unit.referral.support_helpers import FakeConsentGate


@pytest.fixture
def app() -> Iterator[PlanApplication]:
    """An in-memory plan application whose couple (ALEX, SAM) has an agreement in force;
    every event a test stores must match its contract."""
    application: PlanApplication = build_application(PlanApplication, None)
    agreements = InMemoryAgreements()
    agreements.put(TENANT, agreement_view())
    application.agreements = agreements
    yield application
    errors = contract_errors(application)
    application.close()
    assert not errors, "events that do not match their contract:\n" + "\n".join(errors)


@pytest.fixture
def ctx() -> CommandContext:
    return CommandContext(actor_id=THERAPIST, actor_role="clinician", tenant=TENANT)


@pytest.fixture
def plan_id(app: PlanApplication, ctx: CommandContext) -> UUID:
    """An active couple's plan."""
    created = app.create_plan(ctx=ctx, command=CreatePlan(**couple_plan_fields()))
    pid = UUID(created["plan_id"])
    app.change_status(ctx=ctx, plan_id=pid, command=ChangeStatus(status="active"))
    return pid


@pytest.fixture
def gate() -> FakeConsentGate:
    """The consent service as the plan API sees it: denies unless a test says otherwise."""
    return FakeConsentGate("DENY")


@pytest.fixture
def client(app: PlanApplication, gate: FakeConsentGate) -> Iterator[TestClient]:
    """The plan API over the in-memory application (raises no server errors: they are 500s)."""
    api = create_app(SETTINGS, app, gate=gate)
    with TestClient(api, raise_server_exceptions=False) as test_client:
        yield test_client
