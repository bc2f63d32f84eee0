"""No data leaves without its access record committed, on the real PostgreSQL.

Between the read and the record the event store stops taking writes (another session holds the
plan events table in EXCLUSIVE mode: reads go on, every insert waits for the lock and times
out). The read must answer 503 without the plan, and leave no access record; once the store
takes writes again, the same read answers the plan and is logged.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from services.plan.application import PlanApplication
from services.plan.bootstrap import build_plans, close_plans, create_app
from tests.integration.plan.support_agreements import agreement_in_force
from tests.integration.support_relay import RelayWorld
from tests.unit.plan.support_api_client import MARK, couple_with_sams_material, headers

pytestmark = pytest.mark.integration


@pytest.fixture
def quick(world: RelayWorld, consent_url: str) -> Iterator[TestClient]:
    """The plan API whose writes give up after 1 s of lock wait and a 1 s request deadline
    (the couple's agreement in force in a real consent service)."""
    settings = world.settings.model_copy(
        update={
            "db_lock_timeout_seconds": 1,
            "request_deadline_seconds": 1.0,
            "consent_url": consent_url,
        }
    )
    agreement_in_force(world, consent_url)
    cls = type("PlanOnStack", (PlanApplication,), {"name": world.store})
    app = build_plans(settings, application_class=cls, create_table=True)
    with TestClient(create_app(settings, app), raise_server_exceptions=False) as client:
        yield client
    close_plans(app)


def test_a_read_whose_access_record_cannot_be_committed_is_a_503_without_the_data(
    world: RelayWorld, quick: TestClient
) -> None:
    plan_id = couple_with_sams_material(quick)
    assert MARK in quick.get(f"/plans/{plan_id}", headers=headers()).text  # warm, and logged
    events = sql.Identifier(world.store, f"{world.store}_events")
    with psycopg.connect(world.settings.database_url) as holder:
        holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events))
        refused = quick.get(f"/plans/{plan_id}", headers=headers())
        holder.rollback()
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert MARK not in refused.text and plan_id not in refused.text

    again = quick.get(f"/plans/{plan_id}", headers=headers())
    assert again.status_code == 200 and MARK in again.text
    log = quick.get("/access-log", params={"outcome": "success"}, headers=headers("compliance"))
    reads = [r for r in log.json()["items"] if r["route"] == "GET /plans/{plan_id}"]
    assert len(reads) == 2  # the warm-up and the read after: none for the refused one
