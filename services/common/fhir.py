"""What every FHIR route shares: the media type, the one ETag form, the response, security labels.

Labels are codes of HL7's healthcare privacy and security classification: the confidentiality
codes (v3-Confidentiality: N, R, ...) and the sensitivity, privacy-law and handling codes of
v3-ActCode (PSY, ETH, 42CFRPart2, NORDSCLCD, ...), each with its display from HL7 Terminology.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Response
from pydantic import BaseModel

FHIR_JSON = "application/fhir+json"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CONFIDENTIALITY = {
    "U": "unrestricted",
    "L": "low",
    "M": "moderate",
    "N": "normal",
    "R": "restricted",
    "V": "very restricted",
}
_ACT_CODE = {
    "42CFRPart2": "42 CFR Part2",
    "BH": "behavioral health information sensitivity",
    "ETH": "substance abuse information sensitivity",
    "HIV": "HIV/AIDS information sensitivity",
    "NORDSCLCD": "no redisclosure without consent directive",
    "PSY": "psychiatry disorder information sensitivity",
    "PSYTHPN": "psychotherapy note information sensitivity",
    "SDV": "sexual assault, abuse, or domestic violence information sensitivity",
}


def etag(version: int) -> str:
    """The one ETag form of every route, JSON or FHIR: FHIR's weak `W/"<versionId>"`.

    Weak because what one version looks like depends on who reads it (the read policy cuts it)
    and on the format; If-Match takes it, and the strong `"3"` that was sent before.
    """
    return f'W/"{version}"'


def security_label(code: str) -> dict[str, str]:
    """One label as a Coding: a confidentiality code, else an ActCode (display when known)."""
    if code in _CONFIDENTIALITY:
        return {"system": CONFIDENTIALITY, "code": code, "display": _CONFIDENTIALITY[code]}
    coding = {"system": ACT_CODE, "code": code}
    if code in _ACT_CODE:
        coding["display"] = _ACT_CODE[code]
    return coding


def security_labels(codes: Iterable[str]) -> list[dict[str, str]]:
    """The labels as Codings, in the order given: none is ever dropped."""
    return [security_label(code) for code in codes]


def as_json(resource: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A validated `fhir.resources` model (or an already dumped one) as plain JSON data."""
    if isinstance(resource, BaseModel):
        data: dict[str, Any] = json.loads(resource.model_dump_json(exclude_none=True))
        return data
    return dict(resource)


def fhir_response(
    resource: BaseModel | Mapping[str, Any],
    version: int | None = None,
    *,
    status_code: int = 200,
    location: str | None = None,
) -> Response:
    """A FHIR JSON answer; with `version`, the ETag of that version (meta.versionId)."""
    body = json.dumps(as_json(resource))
    response = Response(body, status_code=status_code, media_type=FHIR_JSON)
    if version is not None:
        response.headers["ETag"] = etag(version)
    if location:
        response.headers["Location"] = location
    return response


def searchset(
    resources: Sequence[Mapping[str, Any]],
    *,
    total: int | None = None,
    links: Sequence[tuple[str, str]] = (),
    full_url: str | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of resources (a page of them when `total` says there are more)."""
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {"resource": dict(resource)}
        if full_url is not None:
            entry["fullUrl"] = f"{full_url}/{resource['resourceType']}/{resource['id']}"
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries) if total is None else total,
    }
    if links:
        bundle["link"] = [{"relation": relation, "url": url} for relation, url in links]
    if entries:
        bundle["entry"] = entries
    return bundle
