"""The OpenAPI document as the service answers: errors as problem+json, FHIR as fhir+json.

Every operation may answer the kit's errors, all `application/problem+json` (one handler writes
them, so one place declares them); FastAPI's own 422 schema is replaced because the handler
rewrites validation errors. FHIR routes answer `application/fhir+json`, `/metrics` plain text.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.fhir import FHIR_JSON

PROBLEM_JSON = "application/problem+json"
ERRORS = {
    "400": "Bad request",
    "401": "No or bad bearer token",
    "403": "The caller's role may not call this",
    "404": "Not found (or another practice's)",
    "409": "Conflicts with the current state; the detail says what is allowed",
    "412": "If-Match names a version that is no longer current",
    "413": "The body is over the size accepted (CARELEDGER_MAX_BODY_BYTES), or the change is",
    "422": "Invalid input; `errors` names each field and how to fix it",
    "500": "Unexpected error (logged)",
    "503": "A dependency (database, another service) did not answer; retry",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": True,
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, then declare what the kit adds to every answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for schema_name in ("HTTPValidationError", "ValidationError"):
        components.pop(schema_name, None)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path == "/metrics":
                responses["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
                continue
            if path.startswith("/fhir/"):
                for code, response in responses.items():
                    content = response.get("content", {})
                    if code.startswith("2") and "application/json" in content:
                        content[FHIR_JSON] = content.pop("application/json")
            for code, description in ERRORS.items():
                responses[code] = {
                    "description": description,
                    "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
                }
    return schema
