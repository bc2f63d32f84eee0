"""The repository's cache of current aggregates: always current, never leaking unsaved changes."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError

from services.common.context import CommandContext
from services.common.errors import Conflict
from services.common.store.application import build_application
from services.common.store.repository import CareRepository
from tests.unit.common.support_kit import KitApplication, Note

CTX = CommandContext(actor_id="u1", actor_role="clinician", tenant="practice-a")


def new_app(cache_size: int = 500) -> KitApplication:
    app: KitApplication = build_application(
        KitApplication, None, env={"CARELEDGER_AGGREGATE_CACHE_SIZE": str(cache_size)}
    )
    return app


def opened(app: KitApplication, text: str = "v1") -> UUID:
    note = Note(tenant="practice-a", client_id="c1", text=text)
    app.save_as(CTX, note)
    return UUID(str(note.id))


class CountingReads:
    """Records the `gt` of each read of the event store."""

    def __init__(self, app: KitApplication) -> None:
        self.reads: list[int | None] = []
        original = app.repository.event_store.get

        def get(*args: Any, **kwargs: Any) -> Any:
            self.reads.append(kwargs.get("gt"))
            return original(*args, **kwargs)

        app.repository.event_store.get = get  # type: ignore[method-assign]


def test_the_application_uses_the_caching_repository_sized_from_its_environment() -> None:
    repository = new_app(7).repository
    assert isinstance(repository, CareRepository)
    assert repository.current is not None and repository.current.maxsize == 7
    assert isinstance(new_app(0).repository, CareRepository)
    assert new_app(0).repository.current is None  # type: ignore[attr-defined]


def test_an_unsaved_change_to_a_loaded_aggregate_never_reaches_the_next_load() -> None:
    app = new_app()
    note_id = opened(app)
    loaded = app.repository.get(note_id)
    loaded.amend(text="never saved")
    again = app.repository.get(note_id)
    assert (again.text, again.version) == ("v1", 1)
    assert again is not loaded


def test_a_save_is_seen_by_the_next_load_reading_only_the_newer_events() -> None:
    app = new_app()
    note_id = opened(app)
    app.repository.get(note_id)  # cached at version 1
    reads = CountingReads(app)
    for text in ("v2", "v3"):
        note = app.repository.get(note_id)
        note.amend(text=text)
        app.save_as(CTX, note)
    current = app.repository.get(note_id)
    assert (current.text, current.version) == ("v3", 3)
    assert reads.reads == [1, 1, 2]  # each load read only what came after the cached version


def test_a_reader_shares_the_cached_state_and_a_later_save_never_changes_it() -> None:
    app = new_app()
    note_id = opened(app)
    first = app.repository.get(note_id, deepcopy_from_cache=False)
    assert app.repository.get(note_id, deepcopy_from_cache=False) is first  # nothing new: shared
    note = app.repository.get(note_id)
    note.amend(text="v2")
    app.save_as(CTX, note)
    second = app.repository.get(note_id, deepcopy_from_cache=False)
    assert (second.version, second.text) == (2, "v2")
    assert (first.version, first.text) == (1, "v1")  # brought up to date on a copy, not in place


def test_a_load_at_a_version_replays_the_store_and_leaves_the_cache_alone() -> None:
    app = new_app()
    note_id = opened(app)
    note = app.repository.get(note_id)
    note.amend(text="v2")
    app.save_as(CTX, note)
    assert app.repository.get(note_id, version=1).text == "v1"
    assert app.repository.get(note_id).text == "v2"


def test_an_unknown_aggregate_is_still_not_found_and_not_cached() -> None:
    app = new_app()
    missing = UUID(int=7)
    with pytest.raises(AggregateNotFoundError):
        app.repository.get(missing)
    assert missing not in app.repository.current.cache  # type: ignore[attr-defined]


def test_concurrent_commands_on_one_aggregate_end_as_a_fresh_replay_says() -> None:
    app = new_app()
    note_id = opened(app)
    saved: list[str] = []
    lock = threading.Lock()

    def amend(worker: int) -> None:
        for n in range(25):
            note = app.repository.get(note_id)
            note.amend(text=f"{worker}-{n}")
            time.sleep(0.001)  # let the others load the same version: some saves must conflict
            try:
                app.save_as(CTX, note)
            except Conflict:
                continue  # another worker saved that version first
            with lock:
                saved.append(f"{worker}-{n}")

    workers = [threading.Thread(target=amend, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    cached = app.repository.get(note_id)
    replayed = CareRepository(app.events).get(note_id)  # no cache: from the first event
    versions = [e.originator_version for e in app.events.get(note_id)]
    assert versions == list(range(1, len(saved) + 2))  # no gaps, one per successful save
    assert (cached.version, cached.text) == (replayed.version, replayed.text)
    assert cached.text in saved
    assert 8 <= len(saved) < 200  # conflicts happened, and were turned away


def test_the_cache_never_goes_back_to_an_older_version() -> None:
    app = new_app()
    note_id = opened(app)
    old = app.repository.get(note_id)
    note = app.repository.get(note_id)
    note.amend(text="v2")
    app.save_as(CTX, note)
    assert app.repository.get(note_id).version == 2  # cached at version 2
    repository = app.repository
    repository._keep(repository.current, old)  # type: ignore[attr-defined]  # a late, slow load
    assert app.repository.current.get(note_id).version == 2  # type: ignore[attr-defined]
