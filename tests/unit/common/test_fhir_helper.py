"""The one FHIR helper: media type, response and ETag, security labels as HL7 codes them."""

from __future__ import annotations

import json

from fhir.resources.R4B.bundle import Bundle

from services.common.fhir import (
    ACT_CODE,
    CONFIDENTIALITY,
    FHIR_JSON,
    fhir_response,
    searchset,
    security_labels,
)


def test_confidentiality_codes_and_act_codes_carry_their_hl7_system_and_display() -> None:
    assert security_labels(["R", "42CFRPart2", "PSY"]) == [
        {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
        {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
        {
            "system": ACT_CODE,
            "code": "PSY",
            "display": "psychiatry disorder information sensitivity",
        },
    ]


def test_no_label_is_ever_dropped_even_one_without_a_known_display() -> None:
    codes = ["N", "BH", "NORDSCLCD", "PSYTHPN", "SDV", "HIV", "ETH", "SPI"]
    labelled = security_labels(codes)
    assert [c["code"] for c in labelled] == codes
    assert all("display" in c for c in labelled[:-1]) and labelled[-1] == {
        "system": ACT_CODE,
        "code": "SPI",
    }


def test_a_fhir_response_is_fhir_json_with_the_weak_etag_of_its_version() -> None:
    response = fhir_response(
        {"resourceType": "Patient", "id": "p"}, 4, status_code=201, location="/x"
    )
    assert response.media_type == FHIR_JSON and response.status_code == 201
    assert (response.headers["ETag"], response.headers["Location"]) == ('W/"4"', "/x")
    assert json.loads(bytes(response.body)) == {"resourceType": "Patient", "id": "p"}
    assert "etag" not in fhir_response({"resourceType": "Bundle"}).headers


def test_a_searchset_counts_its_entries_or_says_the_whole_total() -> None:
    patients = [{"resourceType": "Patient", "id": "a"}, {"resourceType": "Patient", "id": "b"}]
    whole = Bundle.model_validate(searchset(patients))
    assert (whole.type, whole.total, len(whole.entry or [])) == ("searchset", 2, 2)
    page = searchset(patients[:1], total=2, links=[("next", "u")], full_url="https://h/fhir")
    assert page["entry"][0]["fullUrl"] == "https://h/fhir/Patient/a"
    assert (page["total"], page["link"]) == (2, [{"relation": "next", "url": "u"}])
    assert "entry" not in searchset([])
