"""The access log: every read of clinical or consent content, and every refusal, as an event.

An access event is its own one-event aggregate (`careledger.access.AccessRecorded`), stored in
the service's own event store through the same group commit as commands, so concurrent reads
share one transaction with each other and with commands. The relay publishes it to
`careledger.access` (exactly once, like every event); nothing ever updates or deletes it.
`AccessLog.record` returns only once the event is committed: a read hands its data out after
that, and a store that cannot take the record turns the read into a 503.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from eventsourcing.domain import Aggregate, event

from services.common.context import CommandContext, new_id
from services.common.events import name_events, published
from services.common.viewer import Touched, Viewer

ACCESS_SERVICE = "access"  # the stored-name and contract namespace; topic careledger.access
ACCESS_EVENT = "careledger.access.AccessRecorded"
ACCESS_TYPE_PREFIX = b"careledger.access."  # ce_type of the records the relay sends there
SUCCESS, REFUSED = "success", "refused"
# A request without a valid token names no practice: its attempt is logged under this tenant and
# shown to every practice's compliance (it holds a route pattern, no ids of anyone's records).
NO_TENANT = "-"


class AccessRecord(Aggregate):
    """One access to records (or one refused attempt); never changed after it is stored."""

    # Who looked at whose record is itself restricted; the record holds ids and codes only.
    @published(labels=["R"])
    @event("AccessRecorded")
    def __init__(
        self,
        *,
        tenant: str,
        service: str,
        who: dict[str, Any],
        what: dict[str, Any],
        purpose: str,
        outcome: str,
        status: int,
        view: str | None,
        route: str,
        break_glass: bool,
    ) -> None:
        self.tenant = tenant
        self.service = service
        self.who = who
        self.what = what
        self.purpose = purpose
        self.outcome = outcome
        self.status = status
        self.view = view
        self.route = route
        self.break_glass = break_glass


name_events(ACCESS_SERVICE, AccessRecord)


@dataclass(frozen=True)
class Request:
    """Who asked, by which route, in which flow: taken from the HTTP request by the kit."""

    route: str
    correlation_id: str = field(default_factory=new_id)
    viewer: Viewer | None = None


def who_of(viewer: Viewer | None) -> dict[str, Any]:
    if viewer is None:
        return {"sub": None, "roles": [], "tenant": None, "on_behalf_of": None}
    return {
        "sub": viewer.sub,
        "roles": sorted(viewer.roles),
        "tenant": viewer.tenant,
        "on_behalf_of": viewer.reads_for,
    }


class Saver(Protocol):
    def save_as(self, ctx: CommandContext, *aggregates: Any) -> None: ...


class AccessLog:
    """Records access events in one service's store; `record` returns once they are committed."""

    def __init__(self, service: str, store: Saver) -> None:
        self.service = service
        self.store = store

    def record(
        self, request: Request, touched: Touched, *, status: int = 200, tenant: str | None = None
    ) -> None:
        viewer = request.viewer
        where = touched.tenant or tenant or (viewer.tenant if viewer else None) or NO_TENANT
        record = AccessRecord(
            tenant=where,
            service=self.service,
            who=who_of(viewer),
            what=touched.as_what(),
            purpose=viewer.purpose if viewer else "TREAT",
            outcome=SUCCESS if status < 400 else REFUSED,
            status=status,
            view=touched.view,
            route=request.route,
            break_glass=touched.break_glass,
        )
        ctx = CommandContext(
            actor_id=viewer.sub if viewer else "anonymous",
            actor_role=",".join(sorted(viewer.roles)) if viewer else "none",
            tenant=where,
            correlation_id=request.correlation_id,
        )
        self.store.save_as(ctx, record)
