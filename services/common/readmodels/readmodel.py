"""Read models as an API uses them: folded in process (unit tests) or a caught-up projection.

`InProcessLog` tails an application's notification log in this process and hands each decoded
event to a fold, for unit tests and stores without PostgreSQL. `CaughtUpProjection` wraps a
PostgreSQL `Projection` that an API catches up before each read, so a caller sees its own writes
(the runner locks the projection's tracking row, so the API and the projections process take
turns).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from services.common.events import decode_state
from services.common.readmodels.projection import Projection, ProjectionRunner
from services.common.readmodels.readstore import ReadStore

P = TypeVar("P", bound=Projection)
# (stored name, aggregate id, aggregate version, decoded state)
Apply = Callable[[str, UUID, int, Mapping[str, Any]], None]


class InProcessLog:
    """Applies every event stored since the last call, in commit order, to `apply`."""

    def __init__(self, apply: Apply, *, topics: Sequence[str] = ()) -> None:
        self._apply = apply
        self._topics = list(topics)
        self.position = 0
        self._lock = threading.Lock()

    def catch_up(self, app: Any, *, batch: int = 500) -> None:
        with self._lock:
            while True:
                page = app.recorder.select_notifications(
                    self.position + 1, batch, topics=self._topics
                )
                for n in page:
                    state = decode_state(app.mapper, n.topic, n.state)
                    self._apply(n.topic, n.originator_id, n.originator_version, state)
                    self.position = n.id
                if len(page) < batch:
                    return


class CaughtUpProjection(Generic[P]):
    """A PostgreSQL projection caught up before each read; `schema` places it privately (tests)."""

    def __init__(
        self, projection_cls: type[P], app: Any, store: ReadStore, *, schema: str | None = None
    ) -> None:
        cls = projection_cls
        if schema is not None and schema != cls.schema:
            cls = type(f"{cls.__name__}In", (cls,), {"schema": schema})
        self.projection: P = cls(store)
        self.runner = ProjectionRunner(self.projection, app, store)
        self._ready = False

    def current(self) -> P:
        """The projection, with every event committed so far applied."""
        if not self._ready:
            self.runner.ensure_tables()
            self._ready = True
        self.runner.catch_up()
        return self.projection

    def close(self) -> None:
        self.runner.store.close()
