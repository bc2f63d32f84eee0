from __future__ import annotations

import json
import uuid

import pytest
from eventsourcing.domain import Aggregate, event

from contracts.records import META_KEY
from services.common.context import CommandContext
from services.common.errors import NotFound
from services.common.events import name_events, stored_name
from services.common.settings import Settings
from services.common.store.application import (
    CONNINFO_KEY,
    CareApplication,
    build_application,
    postgres_env,
)
from tests.unit.common.support_kit import KitApplication, Note

CTX = CommandContext(
    actor_id="u-9",
    actor_role="clinician",
    tenant="practice-a",
    correlation_id="corr-1",
    causation_id="cause-1",
)


def test_every_stored_event_carries_who_where_and_why() -> None:
    app: KitApplication = build_application(KitApplication, None)
    note = Note(tenant="practice-a", client_id="c1", text="t")
    app.save_as(CTX, note)
    [record] = app.history_records(note.id)
    assert record["type"] == "careledger.kit.NoteOpened.v1"
    assert record["meta"] == {
        "actor_id": "u-9",
        "actor_role": "clinician",
        "tenant": "practice-a",
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
    }
    assert record["body"]["client_id"] == "c1"


def test_events_are_stored_under_their_stable_name_not_a_class_path() -> None:
    app: KitApplication = build_application(KitApplication, None)
    note = Note(tenant="practice-a", client_id="c1", text="t")
    app.save_as(CTX, note)
    [notification] = app.notification_log.select(start=1, limit=10)
    assert notification.topic == "careledger.kit.NoteOpened"
    assert stored_name(Note.NoteAmended) == "careledger.kit.NoteAmended"


def test_an_event_stored_outside_a_command_context_is_refused() -> None:
    app: KitApplication = build_application(KitApplication, None)
    with pytest.raises(LookupError, match="acting_as"):
        app.save(Note(tenant="practice-a", client_id="c1", text="t"))


def test_loading_another_tenants_aggregate_is_not_found() -> None:
    app: KitApplication = build_application(KitApplication, None)
    note = Note(tenant="practice-a", client_id="c1", text="t")
    app.save_as(CTX, note)
    assert app.load(Note, note.id, "practice-a").text == "t"
    with pytest.raises(NotFound):
        app.load(Note, note.id, "practice-b")
    with pytest.raises(NotFound):
        app.load(Note, uuid.uuid4(), "practice-a")


def test_a_past_version_is_reproduced() -> None:
    app: KitApplication = build_application(KitApplication, None)
    note = Note(tenant="practice-a", client_id="c1", text="one")
    note.amend(text="two")
    app.save_as(CTX, note)
    assert app.load(Note, note.id, "practice-a", version=1).text == "one"
    with pytest.raises(NotFound):
        app.load(Note, note.id, "practice-a", version=5)


class Counter(Aggregate):
    @event("CounterStarted")
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.total = 0

    class Added(Aggregate.Event):
        class_version = 2
        amount: int
        unit: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["unit"] = "each"

        def apply(self, aggregate: Counter) -> None:  # type: ignore[override]
            aggregate.total += self.amount

    def add(self, amount: int, unit: str = "each") -> None:
        self.trigger_event(self.Added, amount=amount, unit=unit)


name_events("kitcount", Counter)


class CounterApplication(CareApplication):
    name = "kitcount"


def test_an_old_event_version_is_upcast_when_read() -> None:
    app: CounterApplication = build_application(CounterApplication, None)
    counter = Counter(tenant="practice-a")
    app.save_as(CTX, counter)
    # Store a v1 "Added" the way an older release wrote it (no unit, no class_version).
    v1_state = app.mapper.transcoder.encode(
        {"timestamp": counter.modified_on, "amount": 3, META_KEY: CTX.as_metadata()}
    )
    from eventsourcing.persistence import StoredEvent

    app.recorder.insert_events([StoredEvent(counter.id, 2, "careledger.kitcount.Added", v1_state)])
    restored = app.load(Counter, counter.id, "practice-a")
    assert restored.total == 3
    assert app.history_records(counter.id)[1]["body"]["unit"] == "each"
    assert app.history_records(counter.id)[1]["type"] == "careledger.kitcount.Added.v2"


def test_the_store_keeps_the_libpq_parameters_of_a_url_that_names_a_primary_and_its_standby() -> (
    None
):
    url = (
        "postgresql://careledger@127.0.0.1:5001,127.0.0.1:5002/careledger"
        "?target_session_attrs=read-write&sslmode=prefer"
    )
    env = postgres_env(Settings(env="dev", database_url=url), "plan")
    assert env["POSTGRES_HOST"] == "127.0.0.1,127.0.0.1" and env["POSTGRES_PORT"] == "5001,5002"
    assert json.loads(env[CONNINFO_KEY]) == {
        "target_session_attrs": "read-write",
        "sslmode": "prefer",
    }
