"""The consent domain: agreements, directives, decisions and disclosures (pure)."""

from services.common.events import name_events
from services.consent.domain.accounting import Accounting
from services.consent.domain.agreement import SharingAgreement
from services.consent.domain.decision import Decision, PersonFile
from services.consent.domain.directive import ConsentDirective
from services.consent.domain.disclosure import Disclosure
from services.consent.domain.noted import NotedDisclosure

name_events(
    "consent",
    SharingAgreement,
    ConsentDirective,
    Decision,
    Disclosure,
    NotedDisclosure,
    PersonFile,
    Accounting,
)

__all__ = [
    "Accounting",
    "ConsentDirective",
    "Decision",
    "Disclosure",
    "NotedDisclosure",
    "PersonFile",
    "SharingAgreement",
]
