"""structlog JSON logs with request, correlation, tenant and actor ids, and no PHI."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

# Keys whose values are PHI or free text: masked wherever they appear in a log event.
PHI_KEYS = frozenset(
    {
        "name",
        "names",
        "first_name",
        "last_name",
        "given",
        "family",
        "full_name",
        "display_name",
        "recipient_name",
        "patient_name",
        "client_name",
        "dob",
        "birth_date",
        "birthdate",
        "date_of_birth",
        "address",
        "addresses",
        "street",
        "city",
        "postal_code",
        "zip",
        "phone",
        "telecom",
        "email",
        "contact",
        "rationale",
        "note",
        "notes",
        "text",
        "description",
        "free_text",
        "narrative",
        "content",
        "comment",
        "comments",
        "justification",
        "finding",
        "homework",
        "triggers",
        "focus_issues",
        "outcome",
        "reason_text",
        "body",
        "input",
    }
)
MASK = "[redacted]"


def redact_phi(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask PHI keys at any depth, so logs carry ids only."""
    return {k: _redact(k, v) for k, v in event_dict.items()}


def _redact(key: str, value: Any) -> Any:
    if key.lower() in PHI_KEYS:
        return MASK
    if isinstance(value, Mapping):
        return {k: _redact(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact("", v) for v in value]
    return value


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines on stdout (or `stream`) from structlog and stdlib loggers alike.

    Call once in a composition root. Both paths end in the same processors, so the PHI mask
    applies to a library's log line as much as to ours.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    out = stream or sys.stdout
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_phi,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_phi,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    logging.getLogger("kafka").setLevel(max(numeric, logging.WARNING))  # chatty at INFO


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
