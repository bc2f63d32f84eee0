"""Consent service settings (`CARELEDGER_CONSENT_*`); built in the composition root."""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsentSettings(BaseSettings):
    """How long a decision stays valid, and how long the owners of named records may take."""

    model_config = SettingsConfigDict(env_prefix="CARELEDGER_CONSENT_", extra="ignore")

    # A PERMIT is good for this long (then ask again): bounded, so that a permission given
    # today is not used next month after the situation changed.
    decision_validity_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    records_timeout_seconds: float = Field(default=5.0, gt=0)

    def decision_validity(self) -> dt.timedelta:
        return dt.timedelta(hours=self.decision_validity_hours)
