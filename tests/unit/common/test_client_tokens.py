"""Client tokens (SMART on FHIR v2 `patient`, `fhirUser`, `scope`) and the caller they make."""

from __future__ import annotations

import time
from typing import Annotated

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.common.auth.callers import Caller, Role, TokenService, Unauthorized, allow
from services.common.http.app import install_problem_handlers
from services.common.settings import DEV_JWT_SECRET, Settings
from services.common.viewer import Viewer

SETTINGS = Settings(env="dev")
TOKENS = TokenService(SETTINGS)


def probe_app() -> TestClient:
    app = FastAPI()
    app.state.tokens = TOKENS
    install_problem_handlers(app)

    @app.get("/who")
    def who_am_i(caller: Annotated[Caller, Depends(allow(Role.CLIENT, Role.CLINICIAN))]) -> dict:
        v = caller.reader
        return {
            "patient": v.patient,
            "scopes": sorted(v.scopes),
            "purpose": v.purpose,
            "reads_for": v.reads_for,
        }

    return TestClient(app)


def test_a_client_token_names_its_patient_and_scopes() -> None:
    token = TOKENS.mint(
        "portal-a",
        "p1",
        ["client"],
        patient="person-a",
        scope="patient/CarePlan.rs",
        fhir_user="Patient/person-a",
    )
    claims = TOKENS.verify(token)
    assert claims["patient"] == "person-a"
    assert claims["fhirUser"] == "Patient/person-a"
    body = probe_app().get("/who", headers={"Authorization": f"Bearer {token}"}).json()
    assert body == {
        "patient": "person-a",
        "scopes": ["patient/CarePlan.rs"],
        "purpose": "TREAT",
        "reads_for": "person-a",
    }


def test_a_client_cannot_widen_its_view_with_x_acting_for() -> None:
    token = TOKENS.mint("portal-a", "p1", ["client"], patient="person-a")
    headers = {"Authorization": f"Bearer {token}", "X-Acting-For": "person-b"}
    assert probe_app().get("/who", headers=headers).json()["reads_for"] == "person-a"


def test_an_unknown_purpose_of_use_is_a_422_naming_the_codes() -> None:
    token = TOKENS.mint("c-1", "p1", ["clinician"])
    response = probe_app().get(
        "/who", headers={"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "GOSSIP"}
    )
    assert response.status_code == 422
    assert "TREAT" in response.json()["errors"]["X-Purpose-Of-Use"]


@pytest.mark.parametrize(
    ("roles", "patient"),
    [(["client"], None), (["client", "clinician"], "person-a"), (["clinician"], "person-a")],
)
def test_a_client_token_stands_alone_and_only_it_names_a_patient(
    roles: list[str], patient: str | None
) -> None:
    with pytest.raises(ValueError, match="client"):
        TOKENS.mint("x", "p1", roles, patient=patient)


def test_a_hand_made_client_token_without_a_patient_is_refused() -> None:
    now = int(time.time())
    claims = {
        "sub": "x",
        "tenant": "p1",
        "roles": ["client"],
        "iss": "careledger",
        "aud": "careledger",
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="patient"):
        TOKENS.verify(token)


@pytest.mark.parametrize(
    ("scopes", "client", "allowed"),
    [
        ((), False, True),
        (("patient/CarePlan.rs",), True, True),
        (("patient/CarePlan.rs",), False, False),
        (("patient/Consent.rs",), True, False),
        (("user/*.rs",), False, True),
        (("system/*.cruds",), False, True),
        (("user/CarePlan.c",), False, False),
    ],
)
def test_smart_scopes_decide_which_resource_types_a_token_reads(
    scopes: tuple[str, ...], client: bool, allowed: bool
) -> None:
    viewer = Viewer(
        "x", "p1", frozenset(), patient="p" if client else None, scopes=frozenset(scopes)
    )
    assert viewer.may_read("CarePlan") is allowed
