"""Referral service settings (`CARELEDGER_REFERRAL_*`); built in the composition root."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.referral.domain.service_levels import Deadline, ServiceLevels


class ReferralSettings(BaseSettings):
    """Service levels of the practice: JSON maps of rule key -> `<n>bd` or `<n>d`.

    Keys are `<type>:<priority>`, `<type>`, `*:<priority>` or `*`, e.g.
    `CARELEDGER_REFERRAL_ACKNOWLEDGE='{"detox": "0d", "*:stat": "0d", "*": "2bd"}'`.
    """

    model_config = SettingsConfigDict(env_prefix="CARELEDGER_REFERRAL_", extra="ignore")

    acknowledge: dict[str, str] = Field(default_factory=lambda: {"detox": "0d", "*": "2bd"})
    first_appointment: dict[str, str] = Field(default_factory=lambda: {"*": "7d"})
    timezone: str = "America/New_York"
    holidays: list[dt.date] = Field(default_factory=list)
    consent_timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("acknowledge", "first_appointment")
    @classmethod
    def _rules_parse(cls, rules: dict[str, str]) -> dict[str, str]:
        for key, text in rules.items():
            try:
                Deadline.parse(text)
            except ValueError as exc:
                raise ValueError(f"rule {key!r}: {exc}") from None
        return rules

    def service_levels(self) -> ServiceLevels:
        return ServiceLevels.from_config(
            acknowledge=self.acknowledge,
            first_appointment=self.first_appointment,
            timezone=self.timezone,
            holidays=self.holidays,
        )
