"""Accounting of disclosures (HIPAA 45 CFR 164.528: 6 years; 42 CFR 2.24: 3 years).

Each disclosure in the requested period is listed when it falls in at least one window: the
HIPAA window (the 6 years before now) or, for Part 2 labelled disclosures, the Part 2 window
(3 years). Each row names the regimes it is accounted under. A requested start earlier than the
HIPAA window is moved to the window's start, and the response says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from services.common.errors import RuleBroken

HIPAA_YEARS = 6
PART2_YEARS = 3
CSV_COLUMNS = (
    "disclosure_id", "disclosed_at", "person_id", "recipient_kind", "recipient_id",
    "recipient_name", "recipient_address", "description", "categories", "labels", "purpose",
    "disclosed_by", "decision_id", "consent_id", "consent_version", "basis_rule", "regimes",
)  # fmt: skip


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def accounting_window(
    now: dt.datetime, start: dt.datetime | None, end: dt.datetime | None
) -> dict[str, Any]:
    """The period accounted for: [start, end) (no end: up to now), within the HIPAA window."""
    hipaa_from = years_before(now, HIPAA_YEARS)
    part2_from = years_before(now, PART2_YEARS)
    since = start or hipaa_from
    if end is not None and since >= end:
        raise RuleBroken(
            "the period is empty", errors={"from": "must be before 'to' (ISO 8601 date-times)"}
        )
    notes = []
    if since < hipaa_from:
        notes.append(
            f"'from' moved to {hipaa_from.isoformat()}: "
            f"accounting covers at most {HIPAA_YEARS} years"
        )
        since = hipaa_from
    return {
        "from": since,
        "to": end,
        "hipaa_from": hipaa_from,
        "part2_from": part2_from,
        "notes": notes,
    }


def accounting_rows(
    disclosures: Iterable[Mapping[str, Any]], window: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One row per disclosure in the window, oldest first, with every required field."""
    rows = []
    for item in disclosures:
        when: dt.datetime = item["disclosed_at"]
        if when < window["from"] or (window["to"] is not None and when >= window["to"]):
            continue
        regimes = []
        if when >= window["hipaa_from"]:
            regimes.append("HIPAA")
        if item["part2"] and when >= window["part2_from"]:
            regimes.append("42CFRPart2")
        if not regimes:
            continue
        recipient = item["recipient"]
        rows.append(
            {
                "disclosure_id": item["disclosure_id"],
                "disclosed_at": when,
                "person_id": item["person_id"],
                "recipient": dict(recipient),
                "description": item["description"],
                "categories": list(item["categories"]),
                "labels": list(item["labels"]),
                "purpose": item["purpose"],
                "disclosed_by": item["disclosed_by"],
                "decision_id": item["decision_id"],
                "consent_id": item["consent_id"],
                "consent_version": item["consent_version"],
                "basis_rule": item["basis_rule"],
                "regimes": regimes,
            }
        )
    return sorted(rows, key=lambda r: r["disclosed_at"])


def accounting_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header; lists are joined with `;`, times in ISO 8601."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        recipient = row["recipient"]
        writer.writerow(
            {
                "disclosure_id": row["disclosure_id"],
                "disclosed_at": row["disclosed_at"].isoformat(),
                "person_id": row["person_id"],
                "recipient_kind": recipient.get("kind"),
                "recipient_id": recipient.get("id") or "",
                "recipient_name": recipient.get("name") or "",
                "recipient_address": recipient.get("address") or "",
                "description": row["description"],
                "categories": ";".join(row["categories"]),
                "labels": ";".join(row["labels"]),
                "purpose": row["purpose"],
                "disclosed_by": row["disclosed_by"],
                "decision_id": row["decision_id"],
                "consent_id": row["consent_id"] or "",
                "consent_version": row["consent_version"] or "",
                "basis_rule": row["basis_rule"] or "",
                "regimes": ";".join(row["regimes"]),
            }
        )
    return out.getvalue()
