"""The pure parts of projections: the event they see, their SQL templates and the registry."""

from __future__ import annotations

import datetime as dt
import uuid
from types import ModuleType

import pytest

from contracts.records import META_KEY
from services.common.readmodels.projection import Cursor, ProjectedEvent, Projection
from services.common.readmodels.projection_runs import find_projection
from services.common.service import ServiceSpec
from services.common.store.application import CareApplication

AGGREGATE = uuid.UUID("3e0c5a0e-8a4b-4d1e-9f57-1c2d3e4f5a6b")
AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


class Worklist(Projection):
    name = "worklist"
    schema = "referral"
    tables = ("worklist",)

    def process(self, cursor: Cursor, event: ProjectedEvent) -> None:
        cursor.execute(self.sql("INSERT INTO {schema}.worklist VALUES (%s)"), (event.position,))


def projected(**state: object) -> ProjectedEvent:
    return ProjectedEvent(
        position=42,
        aggregate_id=AGGREGATE,
        version=3,
        stored_name="careledger.referral.ReferralSent",
        state={"timestamp": AT, **state},
    )


def test_a_projected_event_is_named_without_its_service_prefix() -> None:
    assert projected().name == "ReferralSent"


def test_a_projected_event_knows_its_tenant_from_the_stored_metadata() -> None:
    event = projected(**{META_KEY: {"tenant": "practice-9", "actor_id": "u1"}}, tenant="ignored")
    assert event.tenant == "practice-9"
    assert event.meta["actor_id"] == "u1"


def test_a_projected_event_body_is_plain_json_without_metadata() -> None:
    event = projected(**{META_KEY: {"tenant": "p"}}, recipient=uuid.UUID(int=1))
    assert event.body == {
        "timestamp": AT.isoformat(),
        "recipient": str(uuid.UUID(int=1)),
        "id": str(AGGREGATE),
        "version": 3,
    }


def test_sql_templates_are_filled_with_the_quoted_schema_of_the_projection() -> None:
    statement = Worklist.sql("SELECT * FROM {schema}.worklist")
    assert "Identifier('referral')" in repr(statement)


def test_a_projection_built_without_a_store_says_it_cannot_query() -> None:
    with pytest.raises(RuntimeError, match="worklist: built without a ReadStore"):
        Worklist().query("SELECT 1")


def test_a_service_whose_spec_names_no_projections_has_none() -> None:
    spec = ServiceSpec(
        name="no_such_service",
        application=CareApplication,
        domain=ModuleType("no_such_service.domain"),
        create_app=lambda settings: None,
    )
    assert list(spec.projections) == []


def test_projections_are_found_by_name_among_the_candidates() -> None:
    assert find_projection("worklist", [Worklist]) is Worklist


def test_an_unknown_projection_name_lists_the_known_ones() -> None:
    with pytest.raises(LookupError, match="no projection named 'nope'; known: worklist"):
        find_projection("nope", [Worklist])
