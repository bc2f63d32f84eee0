"""Loading aggregates: a faster replay, and a cache of current aggregates kept up to date.

Every command loads its aggregate by replaying its events, so a plan with a year of weekly
measurements costs a few hundred decodes per command. `CareRepository` keeps the current state of
recently used aggregates in a per-process LRU cache. A load takes the cached state and applies
the events stored after its version (one indexed query for what this process or another saved
since). A cached aggregate is never changed in place: bringing it up to date
works on a copy that replaces it (copy on write), so an object once handed out stays a
consistent state. A command gets its own copy (pickle, about 3x cheaper than `deepcopy` for
these plain-data aggregates), so its unsaved or refused changes never reach the cache; a reader
that promises not to change it (`deepcopy_from_cache=False`, the library's own flag) gets the
cached object itself. A save does not touch the cache: the next load reads the saved events as
it reads any other writer's. Loads run side by side, outside any lock (with the database down a
load must not make others wait behind its retries); a load caches what it read only if it is
later than what the cache holds, so the cache never goes back. A load at a given version, or
with a projector of its own, replays from the store.

The library's own cache (`AGGREGATE_CACHE_MAXSIZE`) fast-forwards the cached object in place and
copies it with `deepcopy` after releasing its lock, so a copy can catch it half way.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache, Repository
from eventsourcing.persistence import EventStore


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply `events` in order: the library's projector without its per-event protocol check.

    `project_aggregate` asserts `isinstance(event, CanMutateProtocol)` for every event, and a
    runtime-checkable Protocol check costs ~30 us on Python 3.11: over half of a plan's replay.
    Every event here is a library aggregate event, so the check never fails.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def copy_of(aggregate: Any) -> Any:
    return pickle.loads(pickle.dumps(aggregate, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301


class CareRepository(Repository[UUID]):
    """The library's repository with `replay` and a cache of current aggregates (`cache_size`)."""

    def __init__(
        self,
        event_store: EventStore[UUID],
        *,
        snapshot_store: EventStore[UUID] | None = None,
        cache_size: int = 0,
    ) -> None:
        super().__init__(event_store, snapshot_store=snapshot_store)
        self.current: LRUCache[UUID, Any] | None = LRUCache(cache_size) if cache_size else None
        self._lock = threading.Lock()  # around cache updates only, never a database call

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        deepcopy_from_cache: bool = True,
        **options: Any,
    ) -> Any:
        options.setdefault("projector_func", replay)
        if self.current is None or version is not None or options["projector_func"] is not replay:
            return super().get(aggregate_id, version=version, **options)
        cached: Any = None
        try:
            cached = self.current.get(aggregate_id)
        except KeyError:
            aggregate = self._reconstruct_aggregate(aggregate_id, None, replay)
        else:
            newer = list(self.event_store.get(originator_id=aggregate_id, gt=cached.version))
            aggregate = replay(copy_of(cached), newer) if newer else cached
        if aggregate is not cached:
            self._keep(self.current, aggregate)
        return copy_of(aggregate) if deepcopy_from_cache else aggregate

    def _keep(self, current: LRUCache[UUID, Any], aggregate: Any) -> None:
        """Cache `aggregate` unless a later version is cached already (loads race unlocked)."""
        with self._lock:
            try:
                held = current.get(aggregate.id)
            except KeyError:
                held = None
            if held is None or held.version < aggregate.version:
                current.put(aggregate.id, aggregate)
