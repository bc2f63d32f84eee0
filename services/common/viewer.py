"""Who reads and what a read touched, as the read policies and the access log see it: pure data.

A `Viewer` is built from the verified token (services/common/auth/callers.py). Staff tokens carry
`roles`; a client's token carries role `client` and the `patient` claim naming the client it
belongs to (SMART on FHIR v2). `acting_for` is the `X-Acting-For` header: it may only narrow
what a caller sees (a staff member relaying to one partner sees what that partner may see).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# HL7 v3 PurposeOfUse codes a caller may declare in `X-Purpose-Of-Use` (ETREAT: emergency).
PURPOSES_OF_USE = (
    "TREAT",
    "ETREAT",
    "COC",
    "HPAYMT",
    "HOPERAT",
    "HRESCH",
    "PUBHLTH",
    "HLEGAL",
    "FAMRQT",
    "PATRQT",
)
DEFAULT_PURPOSE = "TREAT"


def without(item: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The item without `fields`, saying which were taken out (its `redacted` list)."""
    shown = {k: v for k, v in item.items() if k not in fields}
    return {**shown, "redacted": sorted({*item.get("redacted", ()), *fields})}


class Access(StrEnum):
    """What a read policy answers for one data class: all of it, part of it, or nothing."""

    FULL = "full"
    REDACTED = "redacted"
    DENIED = "denied"


@dataclass(frozen=True)
class Viewer:
    """The caller of one read: identity, practice, roles, and whom they read for."""

    sub: str
    tenant: str
    roles: frozenset[str]
    patient: str | None = None  # a client's own token: the client id it belongs to
    scopes: frozenset[str] = field(default_factory=frozenset)
    purpose: str = DEFAULT_PURPOSE
    acting_for: str | None = None  # X-Acting-For: only narrows

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_client(self) -> bool:
        return self.patient is not None

    @property
    def reads_for(self) -> str | None:
        """The client whose view this caller gets: a client's own id, or the narrowing header."""
        return self.patient if self.patient is not None else self.acting_for

    def may_read(self, resource_type: str) -> bool:
        """SMART v2 scopes: a token that carries scopes must grant read (`r`) of the type."""
        if not self.scopes:
            return True
        for scope in self.scopes:
            context, _, rest = scope.partition("/")
            resource, _, actions = rest.partition(".")
            if context not in ("patient", "user", "system"):
                continue
            if context == "patient" and not self.is_client:
                continue
            if resource in ("*", resource_type) and ("r" in actions or actions == "read"):
                return True
        return False


@dataclass(frozen=True)
class Touched:
    """What one read touched: a type, records (id and version) and the clients they concern."""

    resource_type: str
    records: Sequence[tuple[str, int | None]] = ()
    clients: Iterable[str] = ()
    view: str | None = None  # full / redacted: what the policy let through
    break_glass: bool = False
    tenant: str | None = None  # the record's practice, when it is not the caller's

    def as_what(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type,
            "records": [{"id": i, "version": v} for i, v in self.records],
            "clients": sorted(set(self.clients)),
        }
