"""Who may call the plan API, and the client a caller acts for (`X-Acting-For`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from services.common.auth import Caller, Role, allow

READERS = (Role.CLINICIAN, Role.COORDINATOR, Role.COMPLIANCE, Role.INTEGRATION)
# Clinicians write clinical content; coordinators also write scheduling; all four read.
Clinician = Annotated[Caller, Depends(allow(Role.CLINICIAN))]
Scheduler = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COORDINATOR))]
Reader = Annotated[Caller, Depends(allow(*READERS))]
ActingFor = Annotated[
    str | None,
    Header(alias="X-Acting-For", description="the client id the caller acts for, if any"),
]
