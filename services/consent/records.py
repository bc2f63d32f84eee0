"""The labels of stored records a decision request names (a plan, a session, a referral).

The decision point asks the service that owns each record, with the caller's own token (so the
owner's access rules and access log apply): `GET /plans/{id}` on the plan service (a plan's
labels; a session's are those of its SessionRecorded event, and an individual session is a
partner's own content), `GET /referrals/{id}` on the referral service. A record the owner does
not show this caller is a 422 naming it; an owner that does not answer is a 503 (no decision
is made on a guess).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from services.common.errors import Forbidden, RuleBroken, Unavailable

SESSION_LABELS = ("PSY",)  # what plan.SessionRecorded carries
RECORD_KINDS = ("plan", "session", "referral")


@dataclass(frozen=True)
class RecordRef:
    """A stored record named by a decision request; a session names its plan too."""

    kind: str
    id: str
    plan_id: str | None = None


@dataclass(frozen=True)
class RecordLabels:
    kind: str
    id: str
    labels: frozenset[str]
    individual_session: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "labels": sorted(self.labels),
            "individual_session": self.individual_session,
        }


class RecordLookup(Protocol):
    def labels(self, refs: Sequence[RecordRef], *, token: str | None) -> list[RecordLabels]: ...


def unknown(index: int, ref: RecordRef, why: str) -> RuleBroken:
    return RuleBroken(
        f"the request names a {ref.kind} the decision point cannot read",
        errors={f"records[{index}]": why},
    )


def check_refs(refs: Sequence[RecordRef]) -> None:
    """422 for a named record of an unknown kind, or a session without its plan."""
    errors: dict[str, str] = {}
    for index, ref in enumerate(refs):
        if ref.kind not in RECORD_KINDS:
            errors[f"records[{index}].kind"] = f"use one of {', '.join(RECORD_KINDS)}"
        elif ref.kind == "session" and not ref.plan_id:
            errors[f"records[{index}].plan_id"] = "a session is named with the plan it is in"
    if errors:
        raise RuleBroken("the named records cannot be looked up", errors=errors)


class NoRecordLookup:
    """For an application without the other services (unit tests): naming a record is a 422."""

    def labels(self, refs: Sequence[RecordRef], *, token: str | None) -> list[RecordLabels]:
        if refs:
            raise unknown(0, refs[0], "this consent service is not connected to its owner")
        return []


class HttpRecordLookup:
    """Asks the owning service over HTTP, forwarding the caller's bearer token."""

    def __init__(
        self,
        service_urls: Callable[[], Mapping[str, str]],
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._urls = service_urls
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def labels(self, refs: Sequence[RecordRef], *, token: str | None) -> list[RecordLabels]:
        check_refs(refs)
        return [self._one(index, ref, token) for index, ref in enumerate(refs)]

    def _one(self, index: int, ref: RecordRef, token: str | None) -> RecordLabels:
        if ref.kind == "referral":
            found = self._get(index, ref, "referral", f"/referrals/{ref.id}", token)
            return RecordLabels(ref.kind, ref.id, frozenset(found.get("security_labels") or ()))
        plan = self._get(index, ref, "plan", f"/plans/{ref.plan_id or ref.id}", token)
        if ref.kind == "plan":
            return RecordLabels(ref.kind, ref.id, frozenset(plan.get("security_labels") or ()))
        for session in plan.get("sessions") or ():
            if str(session.get("session_id")) == ref.id:
                individual = session.get("format") == "individual"
                return RecordLabels(ref.kind, ref.id, frozenset(SESSION_LABELS), individual)
        raise unknown(index, ref, f"plan {ref.plan_id} has no session {ref.id}")

    def _get(
        self, index: int, ref: RecordRef, service: str, path: str, token: str | None
    ) -> dict[str, Any]:
        base = self._urls().get(service)
        if not base:
            raise Unavailable(f"the {service} service is not configured: no decision was made")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._client.get(base.rstrip("/") + path, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the {service} service did not answer; retry shortly") from exc
        if response.status_code in (401, 403):
            raise Forbidden(f"the {service} service does not show this {ref.kind} to this caller")
        if response.status_code in (404, 422):
            raise unknown(index, ref, f"no {ref.kind} {ref.id} in this practice")
        if response.status_code >= 400:
            raise Unavailable(f"the {service} service answered {response.status_code}; retry")
        data = response.json()
        if not isinstance(data, dict):
            raise Unavailable(f"the {service} service answered without a {ref.kind}")
        return data

    def close(self) -> None:
        self._client.close()
