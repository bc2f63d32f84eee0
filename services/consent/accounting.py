"""Accounting of disclosures, per regime: HIPAA 45 CFR 164.528 and 42 CFR 2.24.

- HIPAA (6 years before the request) lists disclosures except those 164.528(a)(1) excludes:
  for treatment, payment and health care operations (i), at the person's request or under
  their authorization (ii, iv). What remains are the disclosures made without the person's
  consent under an exception (the carve-outs: a safety threat, a mandated report, a court
  order; 164.512), each with its date, recipient name and address if known, description and
  purpose.
- 42 CFR 2.24 (3 years before the request) lists the Part 2 disclosures made with the person's
  consent (a Part 2 consent decision, or a paper consent recorded as such). A medical-emergency
  disclosure (2.51) is documented with its break-glass decision instead.

A line is listed when it falls in the requested period and in the window of a regime it falls
under; `regimes` says which. Every other disclosure of the period is in `excluded` with the
reason per regime (compliance staff see both; the person's copy is `items`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from services.common.errors import RuleBroken

HIPAA, PART2 = "HIPAA", "42CFRPart2"
HIPAA_YEARS = 6
PART2_YEARS = 3
TPO = frozenset({"TREAT", "COC", "HPAYMT", "HOPERAT"})
CSV_COLUMNS = (
    "disclosure_id",
    "disclosed_at",
    "person_id",
    "recipient_kind",
    "recipient_id",
    "recipient_name",
    "recipient_address",
    "description",
    "categories",
    "labels",
    "purpose",
    "disclosed_by",
    "decision_id",
    "consent_id",
    "consent_version",
    "basis_rule",
    "basis_kind",
    "recorded_late",
    "regimes",
)


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


def _basis(item: Mapping[str, Any]) -> str:
    """`emergency`, `exception` (164.512) or `consent` (consent, paper consent, agreement)."""
    rule = str(item.get("basis_rule") or "")
    if rule.startswith("break-glass:"):
        return "emergency"
    if rule.startswith("carve-out:"):
        return "exception"
    return "consent"


def exclusions(item: Mapping[str, Any]) -> dict[str, str]:
    """Why the disclosure falls outside each regime (a regime not named here applies)."""
    basis, why = _basis(item), {}
    if basis == "emergency" or (basis == "consent" and item["purpose"] in TPO):
        why[HIPAA] = "164.528(a)(1)(i): for treatment, payment or health care operations"
    elif basis == "consent":
        why[HIPAA] = "164.528(a)(1)(ii)/(iv): at the person's request or under their consent"
    if not item["part2"]:
        why[PART2] = "not a Part 2 record"
    elif basis == "emergency":
        why[PART2] = "2.51 medical emergency: documented with its break-glass decision"
    elif basis == "exception":
        why[PART2] = "2.24 lists disclosures made with consent"
    return why


def accounting_rows(
    disclosures: Iterable[Mapping[str, Any]], window: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(lines, excluded) for the period, oldest first: every disclosure lands in one of them."""
    lines, excluded = [], []
    for item in disclosures:
        when: dt.datetime = item["disclosed_at"]
        if when < window["from"] or (window["to"] is not None and when >= window["to"]):
            continue
        why = exclusions(item)
        starts = {HIPAA: window["hipaa_from"], PART2: window["part2_from"]}
        for regime, start in starts.items():
            if regime not in why and when < start:
                why[regime] = f"older than the {regime} window (from {start.date().isoformat()})"
        regimes = [r for r in (HIPAA, PART2) if r not in why]
        row = _row(item, regimes)
        if regimes:
            lines.append(row)
        else:
            excluded.append({**row, "excluded": why})
    return _oldest_first(lines), _oldest_first(excluded)


def _oldest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["disclosed_at"])


def _row(item: Mapping[str, Any], regimes: list[str]) -> dict[str, Any]:
    fields = (
        "disclosure_id",
        "disclosed_at",
        "person_id",
        "description",
        "purpose",
        "disclosed_by",
        "decision_id",
        "consent_id",
        "consent_version",
        "basis_rule",
        "recorded_late",
        "recorded_by",
        "source",
    )
    row: dict[str, Any] = {f: item.get(f) for f in fields}
    row.update(
        recipient=dict(item["recipient"]),
        categories=list(item["categories"]),
        labels=list(item["labels"]),
        basis=dict(item.get("basis") or {"kind": "decision"}),
        regimes=regimes,
    )
    return row


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
                "decision_id": row["decision_id"] or "",
                "consent_id": row["consent_id"] or "",
                "consent_version": row["consent_version"] or "",
                "basis_rule": row["basis_rule"] or "",
                "basis_kind": row["basis"].get("kind", ""),
                "recorded_late": "yes" if row["recorded_late"] else "no",
                "regimes": ";".join(row["regimes"]),
            }
        )
    return out.getvalue()
