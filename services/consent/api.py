"""The consent HTTP API: one router per area, in the order the app includes them.

Each route parses, authorizes (deps.py), reads If-Match, makes one application call and sets
the ETag; reads go through the access log (reads.py).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.consent import (
    agreements_api,
    consents_api,
    decisions_api,
    disclosures_api,
    fhir_api,
)

ROUTERS: tuple[APIRouter, ...] = (
    agreements_api.router,
    consents_api.router,
    decisions_api.router,
    disclosures_api.router,
    fhir_api.router,
)
