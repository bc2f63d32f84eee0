"""What every consent command and query shares: tenant-checked loads, the person's file, clocks.

Every load checks the tenant (and, for ids derived from parts, that the aggregate is the one
those parts name), so an id that happens to exist in another practice is simply not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.common.errors import NotFound, RuleBroken
from services.common.readmodels.summaries import InMemorySummaries
from services.common.store.application import CareApplication
from services.consent.disclosure_rows import DISCLOSURES, DisclosureReadModel
from services.consent.domain import ConsentDirective, Decision, PersonFile, SharingAgreement
from services.consent.domain.agreement import agreement_id, legacy_agreement_id
from services.consent.domain.decision import DEFAULT_VALIDITY
from services.consent.domain.terms import AgreementTerms
from services.consent.projections import DecisionReadModel, in_memory_decisions
from services.consent.records import NoRecordLookup, RecordLookup

A = TypeVar("A")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConsentStore(CareApplication):
    """The consent event store with the loads the commands share (no commands of its own)."""

    def __init__(
        self,
        env: Any = None,
        *,
        decisions: DecisionReadModel | None = None,
        disclosures: DisclosureReadModel | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Callable[[], dt.datetime] = utc_now  # tests set a fixed clock
        self.decision_log: DecisionReadModel = decisions or in_memory_decisions()
        self.disclosure_log: DisclosureReadModel = disclosures or InMemorySummaries(DISCLOSURES)
        self.decision_validity: dt.timedelta = DEFAULT_VALIDITY  # bootstrap.py: settings
        self.records: RecordLookup = NoRecordLookup()  # bootstrap.py: the owning services

    def load(
        self,
        aggregate_cls: type[Any],
        aggregate_id: UUID | str,
        tenant: str,
        *,
        version: int | None = None,
    ) -> Any:
        """As the base, accepting an id as text (an unparseable id is simply not found)."""
        key = as_uuid(aggregate_id, aggregate_cls)
        return super().load(aggregate_cls, key, tenant, version=version)

    def read(self, aggregate_cls: type[A], aggregate_id: UUID, tenant: str) -> A | None:
        """The current aggregate shared with the cache (read it, never change it), or None
        when it does not exist, is of another kind or belongs to another practice."""
        try:
            found: object = self.repository.get(aggregate_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, aggregate_cls) or getattr(found, "tenant", None) != tenant:
            return None
        return found

    def get_decision(self, decision_id: UUID | str, tenant: str) -> dict[str, Any]:
        return dict(self.load(Decision, decision_id, tenant).view())

    # -- agreements -----------------------------------------------------------------------------

    def find_agreement(self, tenant: str, partner_ids: list[str]) -> SharingAgreement | None:
        """The couple's agreement in this practice (also one drafted under the legacy id)."""
        for make in (agreement_id, legacy_agreement_id):  # the legacy id only when needed
            found = self.read(SharingAgreement, make(tenant, partner_ids), tenant)
            if found is not None and found.between(tenant, partner_ids):
                return found
        return None

    def agreement_in_force(
        self, tenant: str, person_a: str, person_b: str
    ) -> AgreementTerms | None:
        """The terms both partners signed, of the agreement between exactly these two."""
        found = self.find_agreement(tenant, [person_a, person_b])
        return found.terms_in_force() if found is not None else None

    # -- the person's file ----------------------------------------------------------------------

    def find_person_file(
        self, tenant: str, person_id: str, *, reading: bool = False
    ) -> PersonFile | None:
        """The person's file; `reading` shares the cached one (to read only, never change)."""
        ids = (PersonFile.create_id, PersonFile.legacy_id)  # the legacy id only when needed
        for key in (make(tenant, person_id) for make in ids):
            found = self.read(PersonFile, key, tenant)
            if found is not None and found.belongs_to(tenant, person_id):
                if reading:
                    return found
                loaded: PersonFile = self.load(PersonFile, key, tenant)
                return loaded
        return None

    def person_file(self, tenant: str, person_id: str) -> PersonFile:
        return self.find_person_file(tenant, person_id) or PersonFile(
            tenant=tenant, person_id=person_id
        )

    def consents_of(self, tenant: str, person_id: str) -> list[ConsentDirective]:
        """The person's consents as they are now, shared with the cache: read, never change them."""
        person_file = self.find_person_file(tenant, person_id, reading=True)
        if person_file is None:
            return []
        found = (self.read(ConsentDirective, UUID(c), tenant) for c in person_file.consent_ids)
        return [c for c in found if c is not None and c.person_id == person_id]

    # -- helpers --------------------------------------------------------------------------------

    def past_or_today(self, day: dt.date | None, field: str) -> dt.date:
        today = self.clock().date()
        if day is not None and day > today:
            raise RuleBroken(
                f"'{field}' is in the future", errors={field: "use today or a past date"}
            )
        return day or today

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))


def as_uuid(value: Any, aggregate_cls: type[Any]) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise NotFound(f"no {aggregate_cls.__name__.lower()} {value}") from None
