"""Factories for brokerage: candidates (with a valid consent to matching by default).

    make_candidate(service=None, broker=None, **fields) -> Candidate

``broker`` defaults to a new broker of ``service`` (a new verified SIL when both are
None; ``service`` defaults to the broker's first service). The candidate is created the
way a broker creates one (``brokerage.caseload.create_candidate``: the case is held by
``service``, a referral stage opens) and gets consents valid for a year to every purpose
(matching, pathway, data sharing); ``consent=False`` records none, ``consent="matching"``
or a tuple of purposes records only those. Any other keyword sets a profile field (``comune_code``,
``hours_min``, ``max_commute_km``, ``skill_ids``, ``occupation_ids``, ``adjustments``,
``experiences``, …) or a sensitive one (``target_group``, ``disability_percentage``,
``origin_service_id``, ``notes``). The consent's expiry is ``consent_days`` from today.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from brokerage import caseload, consents
from brokerage.caseload import ProfileData, SensitiveData
from brokerage.models import CONSENT_PURPOSES, Candidate, Consent, Proposal
from portal import db
from portal.db import utcnow
from portal.models import BROKER, Organisation, User
from tests.factories import make_org, make_user

_seq = itertools.count(1)
SENSITIVE_FIELDS = {"target_group", "disability_percentage", "origin_service_id", "notes"}


def today():  # type: ignore[no-untyped-def]
    return utcnow().date()


def make_candidate(
    service: Organisation | None = None, broker: User | None = None, **fields: Any
) -> Candidate:
    consent = fields.pop("consent", True)
    consent_days = int(fields.pop("consent_days", 365))
    if broker is None:
        service = service or make_org("service")
        broker = make_user(BROKER, org=service)
    elif service is None:
        service = broker.organisations(BROKER)[0]
    sensitive = SensitiveData(**{k: fields.pop(k) for k in list(fields) if k in SENSITIVE_FIELDS})
    profile = ProfileData(
        full_name=str(fields.pop("full_name", f"Persona Prova {next(_seq)}")),
        comune_code=str(fields.pop("comune_code", "093033")),
        **fields,
    )
    candidate = caseload.create_candidate(service, broker, profile, sensitive, today())
    if consent is True:
        consent = tuple(CONSENT_PURPOSES)
    elif isinstance(consent, str):
        consent = (consent,)
    for purpose in consent or ():
        consents.record_consent(
            candidate, broker, purpose, today(), today() + timedelta(days=consent_days), today()
        )
    db.session.flush()
    return candidate


def consent_for(candidate: Candidate, purpose: str = "matching") -> Consent:
    """The candidate's (only) consent for ``purpose``."""
    [consent] = [c for c in consents.consents_of(candidate) if c.purpose == purpose]
    return consent


def make_proposal(candidate: Candidate, vacancy: Any, broker: User, **fields: Any) -> Proposal:
    """A proposal row with a card built from the profile part only (as the lead's
    ``brokerage.proposals.build_card`` does)."""
    try:
        from brokerage.proposals import build_card

        card = build_card(candidate, None)
    except ImportError:  # pragma: no cover - before proposals existed
        card = {
            "pseudonym": candidate.pseudonym,
            "skills": [{"label_en": s.skill.label_en} for s in candidate.skills],
            "adjustments": candidate.adjustments,
        }
    service_id = min(candidate.holding_service_ids)
    values: dict[str, Any] = {"status": "proposed", "note": ""}
    values.update(fields)
    proposal = Proposal(
        vacancy_id=vacancy.id,
        candidate_id=candidate.id,
        broker_id=broker.id,
        service_id=service_id,
        employer_org_id=vacancy.organisation_id,
        card=card,
        **values,
    )
    db.session.add(proposal)
    db.session.flush()
    return proposal
