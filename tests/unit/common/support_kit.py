"""A tiny service built from the kit, for the kit's own tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from fastapi import APIRouter, Depends, FastAPI, Response
from pydantic import Field

from services.common.auth.callers import Caller, Role, allow
from services.common.events import name_events
from services.common.http.app import IfMatch, PageParams, create_service_app, set_etag
from services.common.http.idempotency import IdempotencyStore
from services.common.settings import Settings
from services.common.store.application import CareApplication, build_application, check_version
from services.common.store.deadline import remaining
from services.common.validation import RequestModel

SETTINGS = Settings(env="dev")


class Note(Aggregate):
    @event("NoteOpened")
    def __init__(self, tenant: str, client_id: str, text: str) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.text = text

    @event("NoteAmended")
    def amend(self, text: str) -> None:
        self.text = text


name_events("kit", Note)


class KitApplication(CareApplication):
    name = "kit"


class NoteIn(RequestModel):
    client_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=500)
    patient_name: str | None = None


def build(
    settings: Settings = SETTINGS,
    env: dict[str, str] | None = None,
    idempotency: IdempotencyStore | None = None,
) -> tuple[FastAPI, KitApplication]:
    store: KitApplication = build_application(KitApplication, None, env=env)
    router = APIRouter()

    @router.post("/notes", status_code=201)
    def open_note(
        body: NoteIn,
        response: Response,
        caller: Caller = Depends(allow(Role.CLINICIAN)),
    ) -> dict[str, Any]:
        note = Note(tenant=caller.tenant, client_id=body.client_id, text=body.text)
        store.save_as(caller.ctx, note)
        set_etag(response, note.version)
        return {"id": str(note.id), "version": note.version}

    @router.post("/notes/{note_id}/amendments")
    def amend(
        note_id: UUID,
        body: NoteIn,
        response: Response,
        if_match: IfMatch,
        caller: Caller = Depends(allow(Role.CLINICIAN)),
    ) -> dict[str, Any]:
        note = store.load(Note, note_id, caller.tenant)
        check_version(note.version, if_match)
        note.amend(text=body.text)
        store.save_as(caller.ctx, note)
        set_etag(response, note.version)
        return {"id": str(note.id), "version": note.version}

    @router.get("/notes/{note_id}")
    def read(
        note_id: UUID,
        response: Response,
        caller: Caller = Depends(allow(Role.CLINICIAN, Role.COMPLIANCE)),
    ) -> dict[str, Any]:
        note = store.load(Note, note_id, caller.tenant)
        set_etag(response, note.version)
        return {"id": str(note.id), "text": note.text}

    @router.get("/deadline")
    def time_left(caller: Caller = Depends(allow(Role.CLINICIAN))) -> dict[str, Any]:
        return {"remaining": remaining()}  # as the worker thread running this route sees it

    @router.get("/numbers")
    def numbers(
        page: PageParams, caller: Caller = Depends(allow(Role.COMPLIANCE))
    ) -> dict[str, Any]:
        return page.slice(list(range(7)))

    failures: list[str] = []  # what /flaky raises on its next calls, one per call

    @router.post("/flaky", status_code=201)
    def flaky(body: NoteIn, caller: Caller = Depends(allow(Role.CLINICIAN))) -> dict[str, Any]:
        if failures:
            raise RuntimeError(failures.pop(0))
        note = Note(tenant=caller.tenant, client_id=body.client_id, text=body.text)
        store.save_as(caller.ctx, note)
        return {"id": str(note.id), "version": note.version}

    @router.get("/notes")
    def find(
        page: PageParams,
        client_id: str | None = None,
        caller: Caller = Depends(allow(Role.CLINICIAN)),
    ) -> dict[str, Any]:
        return page.slice([client_id] if client_id else [])

    app = create_service_app(
        "kit", settings, [router], description="kit test service", idempotency=idempotency
    )
    app.state.failures = failures
    return app, store
