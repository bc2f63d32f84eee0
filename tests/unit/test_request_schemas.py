"""Every request of every service is bounded and checked by the kit; the known 500s are 4xx.

The schemas are read from each app's routes and OpenAPI document, so a new route or model is
checked without editing this file: its body model must derive from the kit's `RequestModel`
(the services' `Strict`/`Body` do), every array it takes must have a `maxItems` and every body
string a `maxLength`.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.common.validation import RequestModel
from tests.unit.plan.support_api_client import plan_body
from tests.unit.referral.support_api_client import referral_body
from tests.unit.test_access_matrix import BUILDERS, HOME, SETTINGS, bearer

SERVICES = sorted(BUILDERS)
EVERYONE = ["clinician", "coordinator", "compliance", "integration", "admin"]
UNBOUNDED_FORMATS = {"date", "date-time", "uuid"}


def models_in(annotation: Any, seen: set[type] | None = None) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation names, nested ones and those in lists included."""
    seen = set() if seen is None else seen
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            yield annotation
            for field in annotation.model_fields.values():
                yield from models_in(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        yield from models_in(argument, seen)


def body_models(app: FastAPI) -> dict[str, type[BaseModel]]:
    found = {}
    for context in routing.iter_route_contexts(app.routes):
        if not isinstance(context.original_route, routing.APIRoute):
            continue
        for param in context.dependant.body_params:
            for model in models_in(param.field_info.annotation):
                found[f"{context.path_format} {model.__name__}"] = model
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_model_is_checked_by_the_kit(service: str) -> None:
    models = body_models(BUILDERS[service][0]())
    assert models, "no request bodies found: the test reads routes wrongly"
    outside = sorted(name for name, model in models.items() if not issubclass(model, RequestModel))
    assert outside == [], "derive these from the service's Strict/Body (RequestModel)"


def unbounded(
    schema: dict[str, Any],
    components: dict[str, Any],
    path: str,
    seen: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """Paths of arrays without maxItems and body strings without maxLength."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name not in seen:
            yield from unbounded(components[name], components, path, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from unbounded(sub, components, path, seen)
    kind = schema.get("type")
    if kind == "array":
        if "maxItems" not in schema:
            yield f"{path}: array without maxItems"
        yield from unbounded(schema.get("items", {}), components, f"{path}[]", seen)
    elif kind == "string" and path.startswith("body"):
        if not ({"maxLength", "enum", "const"} & set(schema)) and (
            schema.get("format") not in UNBOUNDED_FORMATS
        ):
            yield f"{path}: string without maxLength"
    elif kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from unbounded(sub, components, f"{path}.{name}", seen)
        if isinstance(extra := schema.get("additionalProperties"), dict):
            yield from unbounded(extra, components, f"{path}.*", seen)


@pytest.mark.parametrize("service", SERVICES)
def test_every_list_a_request_takes_is_bounded(service: str) -> None:
    document = BUILDERS[service][0]().openapi()
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for param in operation.get("parameters", []):
                found += unbounded(
                    param.get("schema", {}), components, f"{where} {param['in']}.{param['name']}"
                )
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                found += unbounded(media.get("schema", {}), components, "body")
    assert found == []


@pytest.fixture(scope="module")
def worlds() -> dict[str, tuple[TestClient, dict[str, str]]]:
    clients = {}
    for service, (build, seed) in BUILDERS.items():
        client = TestClient(build(), raise_server_exceptions=False)
        clients[service] = (client, seed(client))
    return clients


def call(worlds: dict[str, Any], service: str, method: str, path: str, **kw: Any) -> Any:
    client, ids = worlds[service]
    headers = {**bearer(EVERYONE), **kw.pop("headers", {})}
    return client.request(method, path.format(**ids), headers=headers, **kw)


REVIEW = {"held_on": "9999-12-31", "next_mix": {"joint": 1, "individual": 1}}
DECISION = {
    "person_id": "p\x00",
    "recipient": {"kind": "organization", "id": "org-1"},
    "purpose": "TREAT",
    "categories": ["assessment"],
}


@pytest.mark.parametrize(
    ("service", "method", "path", "kw", "field"),
    [
        ("plan", "POST", "/plans", {"json": plan_body(starts_on="9999-12-20")}, "starts_on"),
        ("plan", "POST", "/plans/{plan_id}/reviews", {"json": REVIEW}, "held_on"),
        (
            "plan",
            "POST",
            "/plans/{plan_id}/status",
            {"json": {"status": "active"}, "headers": {"If-Match": "1" * 5000}},
            "If-Match",
        ),
        ("referral", "GET", "/referrals/metrics?to=0001-01-01", {}, "to"),
        (
            "plan",
            "POST",
            "/plans",
            {"json": plan_body(members=[{"client_id": "a\x00", "sex": "male"}])},
            "members.0.client_id",
        ),
        ("consent", "POST", "/decisions", {"json": DECISION}, "person_id"),
        ("referral", "POST", "/referrals", {"json": referral_body(client_id="c\x00")}, "client_id"),
    ],
)
def test_inputs_that_once_answered_500_are_a_422_naming_the_field(
    worlds: dict[str, Any], service: str, method: str, path: str, kw: dict[str, Any], field: str
) -> None:
    response = call(worlds, service, method, path, **kw)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


@pytest.mark.parametrize("roles", [[1], ["clinician", None], "clinician", ["wizard"]])
def test_a_token_whose_roles_are_not_role_names_is_a_401(
    worlds: dict[str, Any], roles: Any
) -> None:
    import datetime as dt

    import jwt

    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": "u",
        "tenant": HOME,
        "roles": roles,
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "iat": now,
        "exp": now + dt.timedelta(hours=1),
    }
    token = jwt.encode(claims, SETTINGS.jwt_secret, algorithm="HS256")
    response = call(worlds, "plan", "GET", "/plans", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
