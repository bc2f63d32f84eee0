"""Producing an accounting of disclosures is itself recorded: who asked, for whom, which window."""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.common.events import published


class Accounting(Aggregate):
    """One accounting produced for one person (ids and dates only: no content)."""

    @published(labels=["N"])
    @event("AccountingProduced")
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
        requested_by: str,
        period_from: dt.datetime,
        period_to: dt.datetime | None,
        hipaa_from: dt.datetime,
        part2_from: dt.datetime,
        format: str,
        disclosure_ids: list[str],
        excluded_ids: list[str],
    ) -> None:
        self.tenant = tenant
        self.person_id = person_id
        self.requested_by = requested_by
        self.period_from = period_from
        self.period_to = period_to
        self.hipaa_from = hipaa_from
        self.part2_from = part2_from
        self.format = format
        self.disclosure_ids = list(disclosure_ids)
        self.excluded_ids = list(excluded_ids)

    def view(self) -> dict[str, Any]:
        return {
            "accounting_id": str(self.id),
            "person_id": self.person_id,
            "requested_by": self.requested_by,
            "produced_at": self.created_on,
            "format": self.format,
            "lines": len(self.disclosure_ids),
            "excluded": len(self.excluded_ids),
        }
