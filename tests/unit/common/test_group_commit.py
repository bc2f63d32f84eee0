from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict
from services.common.group_commit import GroupCommit
from services.common.store import build_application
from tests.unit.common.kit_app import KitApplication, Note


def ctx(actor: str) -> CommandContext:
    return CommandContext(actor_id=actor, actor_role="clinician", tenant="practice-a")


def test_concurrent_commands_each_keep_their_own_actor() -> None:
    app: KitApplication = build_application(KitApplication, None)
    notes = [Note(tenant="practice-a", client_id=f"c{i}", text="t") for i in range(40)]
    threads = [
        threading.Thread(target=app.save_as, args=(ctx(f"actor-{i}"), note))
        for i, note in enumerate(notes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, note in enumerate(notes):
        [record] = app.history_records(note.id)
        assert record["meta"]["actor_id"] == f"actor-{i}"


def test_a_batch_with_one_conflicting_command_fails_only_that_command() -> None:
    batches: list[int] = []
    stored: list[Any] = []
    seen: set[tuple[Any, int]] = set()

    def put(events: Sequence[Any]) -> None:
        from eventsourcing.persistence import IntegrityError

        batches.append(len(events))
        keys = [(e.originator_id, e.originator_version) for e in events]
        if any(k in seen for k in keys) or len(set(keys)) < len(keys):
            raise IntegrityError("duplicate version")
        seen.update(keys)
        stored.extend(events)

    group = GroupCommit(put)
    app: KitApplication = build_application(KitApplication, None)
    note = Note(tenant="practice-a", client_id="c", text="t")
    app.save_as(ctx("a"), note)
    first = app.load(Note, note.id, "practice-a")
    second = app.load(Note, note.id, "practice-a")
    first.amend(text="x")
    second.amend(text="y")
    other = Note(tenant="practice-a", client_id="d", text="t")
    group._commit(  # one batch: two edits of one version plus an unrelated note
        [
            _command(first),
            _command(second),
            _command(other),
        ]
    )
    assert len(stored) == 2  # the first edit and the other note
    assert batches[0] == 3


def _command(aggregate: Any) -> Any:
    from services.common.group_commit import _Command

    return _Command(list(aggregate.collect_events()))


def test_the_loser_of_a_concurrent_edit_gets_a_conflict() -> None:
    app: KitApplication = build_application(KitApplication, None)
    note = Note(tenant="practice-a", client_id="c", text="t")
    app.save_as(ctx("a"), note)
    first = app.load(Note, note.id, "practice-a")
    second = app.load(Note, note.id, "practice-a")
    first.amend(text="x")
    second.amend(text="y")
    app.save_as(ctx("a"), first)
    with pytest.raises(Conflict):
        app.save_as(ctx("b"), second)
    assert app.load(Note, note.id, "practice-a").text == "x"
