"""The consent domain: agreements, directives, decisions and disclosures (pure)."""

from services.common.events import name_events
from services.consent.domain.agreement import SharingAgreement
from services.consent.domain.decision import Decision, PersonFile
from services.consent.domain.directive import ConsentDirective
from services.consent.domain.disclosure import Disclosure

name_events("consent", SharingAgreement, ConsentDirective, Decision, Disclosure, PersonFile)

__all__ = ["ConsentDirective", "Decision", "Disclosure", "PersonFile", "SharingAgreement"]
