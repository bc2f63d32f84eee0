"""Every referral answer as one caller may see it, and every read logged before it leaves.

`placed` finds where the caller stands with a referral (domain/read_policy.py, on the plan's
care team as the referral service knows it); `shown` cuts a referral view to it; `read_one`
loads one referral for a read route, refuses it (403, itself an access event) or records the
read. Command answers go through `shown` too: the writer sees what a reader would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from fastapi import Request

from services.common.errors import Forbidden
from services.common.http.access import record_read
from services.common.readmodels.paging import page_body
from services.common.readmodels.query import Found, Window
from services.common.viewer import Access, Touched, Viewer, without
from services.referral.application import ReferralApplication
from services.referral.care_cut import care_cut
from services.referral.domain import Referral
from services.referral.domain import read_policy as rp
from services.referral.team_rows import teams_of
from services.referral.worklist import WorklistFilter

RESOURCE = "Referral"


def placed(
    app: ReferralApplication, viewer: Viewer, plan_id: UUID | str, client_id: str | None
) -> rp.Kind:
    # Only a clinician's place depends on the care team: no store read for anyone else.
    team = app.plan_team(UUID(str(plan_id))) if viewer.has("clinician") else None
    return rp.reader_of(viewer, team, client_id, app.clock())


def shown(view: Mapping[str, Any], kind: rp.Kind) -> dict[str, Any]:
    """A referral view (or a history entry's body) without what this caller may not read."""
    if rp.clinical_text(kind) is Access.FULL:
        return dict(view)
    return without(view, tuple(f for f in rp.CLINICAL_TEXT if f in view))


def shown_to(app: ReferralApplication, viewer: Viewer, view: Mapping[str, Any]) -> dict[str, Any]:
    return shown(view, placed(app, viewer, view["plan_id"], view.get("client_id")))


def _viewer(request: Request) -> Viewer:
    viewer: Viewer = request.state.viewer  # set by allow(...): routes authenticate first
    return viewer


def _touched(referral: Referral, kind: rp.Kind, resource_type: str) -> Touched:
    full = rp.clinical_text(kind) is Access.FULL
    return Touched(
        resource_type,
        [(str(referral.id), referral.version)],
        [referral.client_id] if referral.client_id else [],
        view=("full" if full else "redacted") if rp.may_read(kind) else None,
        break_glass=kind is rp.Kind.BREAK_GLASS,
    )


def read_one(
    request: Request,
    app: ReferralApplication,
    referral_id: UUID,
    *,
    version: int | None = None,
    resource_type: str = RESOURCE,
) -> tuple[Referral, rp.Kind]:
    """The referral for a read route, after its access event is committed (403 if refused)."""
    viewer = _viewer(request)
    referral = app.referral(tenant=viewer.tenant, referral_id=referral_id, version=version)
    kind = placed(app, viewer, referral.plan_id, referral.client_id)
    if not rp.may_read(kind):
        refused = Forbidden(
            f"referral {referral.id} is for a client you do not treat: read it through the "
            f"plan's care team, or open break-glass access on plan {referral.plan_id}"
        )
        refused.audit = _touched(referral, kind, resource_type)
        raise refused
    record_read(request, _touched(referral, kind, resource_type))
    return referral, kind


def logged_rows(request: Request, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """List rows (ids and codes) the caller may read, logged as one read."""
    kept = [dict(r) for r in rows]
    records = [(str(r["id"]), r.get("version")) for r in kept]
    clients = {str(r["client_id"]) for r in kept if r.get("client_id")}
    record_read(request, Touched(RESOURCE, records, clients, view="redacted"))
    return kept


def readable_worklist(
    app: ReferralApplication, viewer: Viewer, query: WorklistFilter, window: Window
) -> Found:
    """One page of the worklist as `viewer` may read it.

    The read policy is asked once per plan the caller is on the care team of (or holds a grant
    of) and once for every other plan (care_cut.py); the read model filters by the answer,
    sorts and pages in SQL, so no row is placed one by one and a page costs the same however
    large the practice.
    """
    teams = (
        teams_of(app, app.teams, tenant=viewer.tenant, clinician_id=viewer.sub)
        if viewer.has("clinician")  # only a clinician's place depends on the care team
        else []
    )
    cut = care_cut(viewer, ((t.plan_id, t) for t in teams), app.clock())
    if cut.nothing:
        return Found([], 0, None)
    limited = None if cut.everything else cut
    return app.worklist(tenant=viewer.tenant, query=query, window=window, cut=limited)


def worklist_page(
    request: Request, app: ReferralApplication, query: WorklistFilter, window: Window
) -> dict[str, Any]:
    """One page of the worklist as this caller may read it, logged as one read."""
    found = readable_worklist(app, _viewer(request), query, window)
    return page_body(window, replace(found, rows=logged_rows(request, found.rows)))
