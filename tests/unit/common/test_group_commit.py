from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from services.common.context import CommandContext
from services.common.errors import Conflict
from services.common.store.application import build_application
from services.common.store.group_commit import GroupCommit
from tests.unit.common.support_kit import KitApplication, Note


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
    from services.common.store.group_commit import _Command

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


class _Event:
    def __init__(self, owner: int) -> None:
        self.owner = owner


class _Pending:
    """An aggregate stand-in whose one pending event names the thread that saves it."""

    def collect_events(self) -> list[_Event]:
        return [_Event(threading.get_ident())]


def test_a_leader_commits_one_batch_then_hands_leadership_on_under_sustained_load() -> None:
    commits: list[tuple[int, set[int]]] = []  # (thread that ran put, threads in the batch)
    puts_by_thread: dict[int, int] = {}
    lock = threading.Lock()

    def put(events: Sequence[Any]) -> None:
        me = threading.get_ident()
        with lock:
            commits.append((me, {e.owner for e in events}))
            puts_by_thread[me] = puts_by_thread.get(me, 0) + 1
        threading.Event().wait(0.002)  # a transaction takes a little while

    group = GroupCommit(put)
    stop = threading.Event()

    def keep_saving() -> None:
        while not stop.is_set():
            group.save(ctx("a"), [_Pending()])

    workers = [threading.Thread(target=keep_saving, daemon=True) for _ in range(12)]
    for worker in workers:
        worker.start()
    threading.Event().wait(0.5)
    stop.set()
    for worker in workers:
        worker.join(5)
    assert len(commits) > 20
    assert any(len(batch) > 1 for _, batch in commits), "no batch ever joined two commands"
    # Each transaction ran in a thread whose own command was in it: nobody commits for others
    # after its own answer is known, so no request waits behind more than one batch.
    assert all(runner in batch for runner, batch in commits)
