"""Who may call the plan API; what each caller then sees is the read policy's (reads.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.common.auth.callers import Caller, Role, allow

READERS = (Role.CLINICIAN, Role.COORDINATOR, Role.COMPLIANCE, Role.INTEGRATION, Role.CLIENT)
# Clinicians write clinical content; coordinators also write scheduling; all four read.
Clinician = Annotated[Caller, Depends(allow(Role.CLINICIAN))]
Scheduler = Annotated[Caller, Depends(allow(Role.CLINICIAN, Role.COORDINATOR))]
Reader = Annotated[Caller, Depends(allow(*READERS))]
Compliance = Annotated[Caller, Depends(allow(Role.COMPLIANCE))]
