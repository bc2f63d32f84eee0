"""Check every event an application stored against its contract schema (JSON Schema 2020-12)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from contracts.naming import event_name, publication_of, service_of
from contracts.records import event_body
from services.common.events import decode_state, named_event_classes
from services.common.store.application import CareApplication

ROOT = Path(__file__).resolve().parents[3] / "contracts" / "schemas"
SCHEMAS = ROOT / "plan"


@cache
def validator(name: str, version: int = 1, service: str = "plan") -> Draft202012Validator:
    schema = json.loads((ROOT / service / f"{name}.v{version}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def stored_bodies(app: CareApplication, service: str = "plan") -> list[tuple[str, dict[str, Any]]]:
    """(event name, record body) of every stored event of `service`, in commit order."""
    notifications = app.process_recorder.select_notifications(None, 100_000)
    return [
        (
            event_name(n.topic),
            event_body(
                n.originator_id, n.originator_version, decode_state(app.mapper, n.topic, n.state)
            ),
        )
        for n in notifications
        if service_of(n.topic) == service
    ]


def published(service: str, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The contract version and body of the record the relay publishes for a stored event."""
    cls = named_event_classes(service)[f"careledger.{service}.{name}"]
    publication = publication_of(cls)
    version = publication.version or int(getattr(cls, "class_version", 1))
    return version, publication.withdraw(body)


def contract_errors(app: CareApplication) -> list[str]:
    """Every failing (event, field path, rule) of the records the relay would publish (private
    fields left out, against the published version); empty when every record validates."""
    errors = []
    for service in ("plan", "access"):
        for name, body in stored_bodies(app, service):
            version, record = published(service, name, body)
            errors += [
                f"{name}: {'/'.join(map(str, e.path)) or '(body)'} {e.message}"
                for e in validator(name, version, service).iter_errors(record)
            ]
    return errors
