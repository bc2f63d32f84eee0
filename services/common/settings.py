"""Process settings from `CARELEDGER_` env vars; built in a composition root, never at import."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "careledger-dev-secret-change-me-0123456789"  # noqa: S105 - HS256 is dev-only
SERVICES = ("plan", "consent", "referral")
DEFAULT_AGGREGATE_CACHE_SIZE = 500  # also what an in-memory (unit test) application uses
# The max.message.bytes `db init` gives careledger's topics (Kafka's own default), and the part
# of it an event's stored form may take: a record adds its envelope, headers and batch framing
# (500-600 bytes measured for plan events; the record leaves private fields out, so it is never
# larger than the stored event plus that). kafka-python sends at most 1 MiB per request.
KAFKA_MAX_MESSAGE_BYTES = 1_048_588
PRODUCER_MAX_REQUEST_BYTES = 1_048_576
RECORD_MARGIN_BYTES = 4096
DEFAULT_MAX_EVENT_BYTES = PRODUCER_MAX_REQUEST_BYTES - RECORD_MARGIN_BYTES


def stack_home() -> Path:
    """Where the local stack keeps its state (`CARELEDGER_HOME`, default `<repo>/.local`)."""
    configured = os.environ.get("CARELEDGER_HOME")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".local"


def _stack_json() -> dict[str, object]:
    path = stack_home() / "stack.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Settings(BaseSettings):
    """Everything a careledger process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CARELEDGER_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "prod"
    database_url: str = ""
    kafka_bootstrap: str = ""
    # How the Kafka clients connect (services/common/kafka_access.py): PLAINTEXT locally,
    # SASL_SSL with SCRAM-SHA-512 and the cluster CA in production (deploy/k8s/base/config.yaml).
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    jwt_secret: str = DEV_JWT_SECRET  # HS256, accepted only with env=dev (auth/tokens.py)
    jwt_jwks: str = ""  # the issuer's public keys: a JWKS file or URL (RS256, EdDSA)
    service_key_file: str = ""  # this service's own private key (PEM), for the tokens it signs
    jwt_issuer: str = "careledger"
    jwt_audience: str = "careledger"
    jwt_audiences: dict[str, str] = Field(default_factory=dict)  # per service, else the above
    token_ttl_seconds: int = Field(default=3600, gt=0)  # what `careledger token` mints
    token_max_lifetime_seconds: int = Field(default=12 * 3600, gt=0)  # exp - iat, at most
    log_level: str = "INFO"
    metrics_host: str = "127.0.0.1"  # where a relay's /metrics listens (--metrics-port)
    db_lock_timeout_seconds: int = Field(default=5, gt=0)
    db_pool_size: int = Field(default=4, gt=0)  # connections kept open per process
    # Also the wait for a pooled connection; the event store retries each call 10 times.
    db_connect_timeout_seconds: int = Field(default=1, gt=0)
    # Current aggregates cached per process (store/repository.py); 0 turns the cache off.
    aggregate_cache_size: int = Field(default=DEFAULT_AGGREGATE_CACHE_SIZE, ge=0)
    # After this, a request whose database calls fail stops retrying and answers 503.
    request_deadline_seconds: float = Field(default=4.0, gt=0)
    # A request body over this is refused with 413 before it is read further.
    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    # The record limit of careledger's topics: `db init` creates them with this
    # max.message.bytes, and an event whose record could be over it is refused when saved (413).
    kafka_max_message_bytes: int = Field(
        default=KAFKA_MAX_MESSAGE_BYTES, gt=2 * RECORD_MARGIN_BYTES
    )
    # A successful answer to an Idempotency-Key is kept (and replayed) this long, then purged.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    consent_url: str = ""
    service_urls: dict[str, str] = Field(default_factory=dict)

    @property
    def max_event_bytes(self) -> int:
        """The largest stored event whose record the topics (and the producer) take."""
        record = min(self.kafka_max_message_bytes, PRODUCER_MAX_REQUEST_BYTES)
        return record - RECORD_MARGIN_BYTES


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, falling back to the local stack's `.local/stack.json`."""
    stack = _stack_json()
    defaults: dict[str, object] = {}
    if not os.environ.get("CARELEDGER_DATABASE_URL") and stack.get("database_url"):
        defaults["database_url"] = stack["database_url"]
    if not os.environ.get("CARELEDGER_KAFKA_BOOTSTRAP") and stack.get("kafka_bootstrap"):
        defaults["kafka_bootstrap"] = stack["kafka_bootstrap"]
        security = stack.get("kafka_security")  # a stack whose broker takes TLS + SCRAM only
        if isinstance(security, dict):
            defaults |= {f"kafka_{k}": v for k, v in security.items()}
    urls = stack.get("service_urls")
    if isinstance(urls, dict) and not os.environ.get("CARELEDGER_SERVICE_URLS"):
        defaults["service_urls"] = urls
    defaults.update(overrides)
    return Settings(**defaults)  # type: ignore[arg-type]
