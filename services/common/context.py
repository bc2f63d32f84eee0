"""Who is acting, for which practice and why: carried through a command by a context variable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class CommandContext:
    """Who (actor and role), where (tenant) and why (correlation, causation) of one command."""

    actor_id: str
    actor_role: str
    tenant: str
    correlation_id: str = field(default_factory=new_id)
    causation_id: str | None = None
    request_id: str | None = None

    def as_metadata(self) -> dict[str, str | None]:
        """The fields stored with every event (the request id is a log concern only)."""
        data = asdict(self)
        data.pop("request_id")
        return data

    def caused_by(self, causation_id: str) -> CommandContext:
        """The context of work done in reaction to an event or record with this id."""
        return replace(self, causation_id=causation_id)


SYSTEM_ROLE = "system"

_current: ContextVar[CommandContext | None] = ContextVar("careledger_command", default=None)


def current_context() -> CommandContext:
    """The context of the command being handled; raises when none was entered."""
    ctx = _current.get()
    if ctx is None:
        raise LookupError("no command context: wrap the command in `acting_as(...)`")
    return ctx


def maybe_context() -> CommandContext | None:
    return _current.get()


@contextmanager
def acting_as(ctx: CommandContext) -> Iterator[CommandContext]:
    """Run the enclosed commands as `ctx`; every event they store carries it."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
