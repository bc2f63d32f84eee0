"""Accounting of disclosures per regime: HIPAA 164.528 (6 years, its exclusions) and 42 CFR
2.24 (3 years, disclosures made with consent); CSV and FHIR."""

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
from tests.unit.consent.support_builders import DETOX, NOW


def disclosure(years_ago: float, *, part2: bool, ident: str, **extra: Any) -> dict[str, Any]:
    """A treatment disclosure on a consent, `years_ago` (override basis_rule, purpose...)."""
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
        "recorded_late": False,
        **extra,
    }


def exception(years_ago: float, ident: str, kind: str = "court-order") -> dict[str, Any]:
    """A disclosure without consent under a carve-out (164.512): what HIPAA accounts for."""
    return disclosure(
        years_ago,
        part2=False,
        ident=ident,
        consent_id=None,
        consent_version=None,
        basis_rule=f"carve-out:{kind}",
        purpose="COC",
    )


def accounted(items: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    lines, _ = accounting_rows(items, accounting_window(NOW, None, None))
    return [(r["disclosure_id"], r["regimes"]) for r in lines]


def test_part2_disclosures_with_consent_are_accounted_for_three_years() -> None:
    items = [disclosure(1, part2=True, ident="recent"), disclosure(4, part2=True, ident="older")]
    assert accounted(items) == [("recent", ["42CFRPart2"])]


def test_disclosures_under_an_exception_are_accounted_for_six_years_under_hipaa() -> None:
    items = [exception(1, "recent"), exception(5, "older"), exception(7, "too-old")]
    assert accounted(items) == [("older", ["HIPAA"]), ("recent", ["HIPAA"])]


def test_a_part2_disclosure_under_an_exception_would_be_hipaa_only() -> None:
    item = {**exception(1, "d"), "part2": True, "labels": ["42CFRPart2"]}
    assert accounted([item]) == [("d", ["HIPAA"])]


def test_hipaa_excludes_treatment_payment_operations_and_disclosures_the_person_consented_to() -> (
    None
):
    items = [
        disclosure(1, part2=False, ident="treatment"),
        disclosure(1, part2=False, ident="payment", purpose="HPAYMT"),
        disclosure(1, part2=False, ident="family", purpose="FAMRQT"),
        disclosure(
            1,
            part2=False,
            ident="emergency",
            consent_id=None,
            basis_rule="break-glass:medical-emergency",
        ),
    ]
    lines, excluded = accounting_rows(items, accounting_window(NOW, None, None))
    assert lines == []
    reasons = {r["disclosure_id"]: r["excluded"]["HIPAA"] for r in excluded}
    assert reasons["treatment"].startswith("164.528(a)(1)(i)")
    assert reasons["payment"].startswith("164.528(a)(1)(i)")
    assert reasons["family"].startswith("164.528(a)(1)(ii)/(iv)")
    assert reasons["emergency"].startswith("164.528(a)(1)(i)")


def test_a_part2_emergency_disclosure_is_documented_not_accounted_under_2_24() -> None:
    item = disclosure(
        1, part2=True, ident="er", consent_id=None, basis_rule="break-glass:medical-emergency"
    )
    lines, excluded = accounting_rows([item], accounting_window(NOW, None, None))
    assert lines == []
    assert excluded[0]["excluded"]["42CFRPart2"].startswith("2.51")


def test_every_disclosure_of_the_period_is_either_a_line_or_excluded_with_its_reasons() -> None:
    items = [disclosure(y, part2=p, ident=f"{y}-{p}") for y in (1, 4, 5.9) for p in (True, False)]
    items += [exception(y, f"x{y}") for y in (2, 5.9, 6.5)]
    lines, excluded = accounting_rows(items, accounting_window(NOW, None, None))
    in_window = {i["disclosure_id"] for i in items} - {"x6.5"}
    assert {r["disclosure_id"] for r in [*lines, *excluded]} == in_window
    assert all(r["excluded"] for r in excluded)


def test_a_start_before_the_six_year_window_is_moved_and_the_answer_says_so() -> None:
    window = accounting_window(NOW, NOW - dt.timedelta(days=365 * 10), None)
    assert window["from"] == years_before(NOW, 6)
    assert window["notes"]


def test_an_empty_period_names_the_from_field() -> None:
    with pytest.raises(RuleBroken) as caught:
        accounting_window(NOW, NOW, NOW - dt.timedelta(days=1))
    assert "from" in caught.value.extra["errors"]


def test_the_period_end_is_exclusive() -> None:
    item = exception(1, "d")
    window = accounting_window(NOW, None, item["disclosed_at"])
    assert accounting_rows([item], window) == ([], [])


def test_csv_has_one_row_per_disclosure_with_recipient_name_and_address() -> None:
    rows, _ = accounting_rows(
        [disclosure(1, part2=True, ident="d")], accounting_window(NOW, None, None)
    )
    parsed = list(csv.DictReader(io.StringIO(accounting_csv(rows))))
    assert len(parsed) == 1
    assert (parsed[0]["recipient_name"], parsed[0]["recipient_address"]) == (
        "Harbor Detox",
        "1 Harbor Rd",
    )
    assert (parsed[0]["regimes"], parsed[0]["recorded_late"]) == ("42CFRPart2", "no")


def test_each_disclosure_is_an_export_audit_event_with_source_recipient_and_authorizer() -> None:
    rows, _ = accounting_rows(
        [disclosure(1, part2=True, ident="d")], accounting_window(NOW, None, None)
    )
    event = disclosure_audit_event(rows[0])
    assert (event.type.code, event.subtype[0].code) == ("110106", "disclose")
    assert event.purposeOfEvent[0].coding[0].code == "TREAT"
    roles = [agent.type.coding[0].code for agent in event.agent]
    assert roles == ["110153", "110152", "AUT"]
    assert event.agent[2].policy == ["Consent/c1/_history/2"]
    assert bundle([event]).total == 1
