"""The referral HTTP API: one router per area, in the order the app includes them.

Each route parses, authorizes (deps.py), reads If-Match, makes one application call and answers
what the caller may see (reads.py). The worklist and metrics come before
`/referrals/{referral_id}`, so that their paths are not read as an id.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.referral import fhir_api, referrals_api, steps_api, worklist_api

ROUTERS: tuple[APIRouter, ...] = (
    worklist_api.router,
    referrals_api.router,
    steps_api.router,
    fhir_api.router,
)
