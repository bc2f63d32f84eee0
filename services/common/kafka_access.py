"""How every careledger Kafka client connects: bootstrap servers, TLS and SASL/SCRAM.

`kafka_access(settings)` is the one place that reads the connection settings
(`CARELEDGER_KAFKA_BOOTSTRAP`, `..._SECURITY_PROTOCOL`, `..._SASL_MECHANISM`,
`..._SASL_USERNAME`, `..._SASL_PASSWORD`, `..._SSL_CAFILE`); relays, consumers, dead letters,
`careledger tail`, the demo's topic check and `db init` all build their clients from what it
returns. A plain bootstrap string still names a PLAINTEXT cluster (the local stack, tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")


class KafkaConfigError(ValueError):
    """The Kafka connection settings contradict each other or name a missing file."""


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and how to talk to them."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""  # PEM of the CA that signed the brokers' certificates; "" = system CAs

    def __post_init__(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise KafkaConfigError(
                f"CARELEDGER_KAFKA_SECURITY_PROTOCOL={self.security_protocol!r}: "
                f"choose one of {', '.join(PROTOCOLS)}"
            )
        if self.sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise KafkaConfigError(
                    f"CARELEDGER_KAFKA_SASL_MECHANISM={self.sasl_mechanism!r}: "
                    f"choose one of {', '.join(MECHANISMS)}"
                )
            if not self.sasl_username or not self.sasl_password:
                raise KafkaConfigError(
                    f"{self.security_protocol} needs CARELEDGER_KAFKA_SASL_USERNAME and "
                    "CARELEDGER_KAFKA_SASL_PASSWORD"
                )
        if self.tls and self.ssl_cafile and not Path(self.ssl_cafile).is_file():
            raise KafkaConfigError(f"CARELEDGER_KAFKA_SSL_CAFILE={self.ssl_cafile}: no such file")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    def settings(self) -> dict[str, str]:
        """The same as `kafka_*` keyword arguments of Settings (what kafka_access reads back)."""
        return {
            "kafka_bootstrap": self.bootstrap,
            "kafka_security_protocol": self.security_protocol,
            "kafka_sasl_mechanism": self.sasl_mechanism or "SCRAM-SHA-512",
            "kafka_sasl_username": self.sasl_username,
            "kafka_sasl_password": self.sasl_password,
            "kafka_ssl_cafile": self.ssl_cafile,
        }

    def environment(self) -> dict[str, str]:
        """The same as `CARELEDGER_KAFKA_*` variables, for a process this one starts."""
        return {f"CARELEDGER_{key.upper()}": value for key, value in self.settings().items()}

    def options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer, KafkaAdminClient."""
        found: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.sasl:
            found |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        if self.tls and self.ssl_cafile:
            found["ssl_cafile"] = self.ssl_cafile
        return found | extra

    def librdkafka(self, **extra: Any) -> dict[str, Any]:
        """The same settings as librdkafka (confluent-kafka) names them."""
        found: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol.lower(),
        }
        if self.sasl:
            found |= {
                "sasl.mechanisms": self.sasl_mechanism,
                "sasl.username": self.sasl_username,
                "sasl.password": self.sasl_password,
            }
        if self.tls and self.ssl_cafile:
            found["ssl.ca.location"] = self.ssl_cafile
        return found | extra


KafkaTarget = KafkaAccess | str  # a bare bootstrap string is a PLAINTEXT cluster


def as_access(target: KafkaTarget) -> KafkaAccess:
    return target if isinstance(target, KafkaAccess) else KafkaAccess(target)


def kafka_access(settings: Settings) -> KafkaAccess:
    """The Kafka connection of this process, from its settings (raises KafkaConfigError)."""
    return KafkaAccess(
        bootstrap=settings.kafka_bootstrap,
        security_protocol=settings.kafka_security_protocol.upper(),
        sasl_mechanism=settings.kafka_sasl_mechanism.upper(),
        sasl_username=settings.kafka_sasl_username,
        sasl_password=settings.kafka_sasl_password.get_secret_value(),
        ssl_cafile=settings.kafka_ssl_cafile,
    )
