"""Accounting of disclosures: the HIPAA 6-year and Part 2 3-year windows, CSV and FHIR."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from services.common.errors import RuleBroken
from services.consent.accounting import (
    accounting_csv,
    accounting_rows,
    accounting_window,
    years_before,
)
from services.consent.fhir import bundle, disclosure_audit_event
from tests.unit.consent.builders import DETOX, NOW


def disclosure(years_ago: float, *, part2: bool, ident: str) -> dict[str, Any]:
    return {
        "disclosure_id": ident,
        "disclosed_at": NOW - dt.timedelta(days=365.25 * years_ago),
        "person_id": "person-a",
        "recipient": {**DETOX, "address": "1 Harbor Rd"},
        "description": "intake assessment",
        "categories": ["substance-use"],
        "labels": ["42CFRPart2"] if part2 else [],
        "purpose": "TREAT",
        "disclosed_by": "clin-1",
        "decision_id": "dec-1",
        "consent_id": "c1",
        "consent_version": 2,
        "basis_rule": None,
        "part2": part2,
    }


def test_part2_disclosures_older_than_three_years_are_accounted_under_hipaa_only() -> None:
    rows = accounting_rows(
        [
            disclosure(1, part2=True, ident="recent"),
            disclosure(4, part2=True, ident="older"),
            disclosure(7, part2=False, ident="too-old"),
        ],
        accounting_window(NOW, None, None),
    )
    assert [(r["disclosure_id"], r["regimes"]) for r in rows] == [
        ("older", ["HIPAA"]),
        ("recent", ["HIPAA", "42CFRPart2"]),
    ]


def test_a_start_before_the_six_year_window_is_moved_and_the_answer_says_so() -> None:
    window = accounting_window(NOW, NOW - dt.timedelta(days=365 * 10), None)
    assert window["from"] == years_before(NOW, 6)
    assert window["notes"]


def test_an_empty_period_names_the_from_field() -> None:
    with pytest.raises(RuleBroken) as caught:
        accounting_window(NOW, NOW, NOW - dt.timedelta(days=1))
    assert "from" in caught.value.extra["errors"]


def test_the_period_end_is_exclusive() -> None:
    item = disclosure(1, part2=False, ident="d")
    window = accounting_window(NOW, None, item["disclosed_at"])
    assert accounting_rows([item], window) == []


def test_csv_has_one_row_per_disclosure_with_recipient_name_and_address() -> None:
    rows = accounting_rows(
        [disclosure(1, part2=True, ident="d")], accounting_window(NOW, None, None)
    )
    parsed = list(csv.DictReader(io.StringIO(accounting_csv(rows))))
    assert len(parsed) == 1
    assert (parsed[0]["recipient_name"], parsed[0]["recipient_address"]) == (
        "Harbor Detox",
        "1 Harbor Rd",
    )
    assert parsed[0]["regimes"] == "HIPAA;42CFRPart2"


def test_each_disclosure_is_an_export_audit_event_with_source_recipient_and_authorizer() -> None:
    rows = accounting_rows(
        [disclosure(1, part2=True, ident="d")], accounting_window(NOW, None, None)
    )
    event = disclosure_audit_event(rows[0])
    assert (event.type.code, event.subtype[0].code) == ("110106", "disclose")
    assert event.purposeOfEvent[0].coding[0].code == "TREAT"
    roles = [agent.type.coding[0].code for agent in event.agent]
    assert roles == ["110153", "110152", "AUT"]
    assert event.agent[2].policy == ["Consent/c1/_history/2"]
    assert bundle([event]).total == 1
