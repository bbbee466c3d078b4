"""Applying through the network: a person reading a public vacancy asks a service desk
(SIL, job centre) to be put forward.

The request carries a name, a way to be contacted and the dated consent to be contacted,
nothing else: the desk meets the person and, if they join its caseload, records consent and
the rest under the caseload's rules. The request reaches the brokers of the chosen service
(their inbox and notifications) and the person gets an acknowledgement e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from brokerage.models import (
    REFERRAL_CLOSED,
    REFERRAL_CONTACTED,
    REFERRAL_NEW,
    ReferralRequest,
    ServiceDesk,
)
from employers.models import CompanyProfile, Vacancy
from portal import db, mail
from portal.db import utcnow
from portal.models import BROKER, SERVICE, Membership, Organisation, User
from portal.municipalities import distance_between
from portal.notifications import notify

#: The services whose desks take candidacies from the public. Services whose type reveals a
#: health condition (DSM, SerT) meet people through their own care pathways instead.
CANDIDACY_SERVICE_TYPES = ("sil", "job_centre")
#: How many desks to offer when none is in the vacancy's province.
NEAREST = 3
#: Requests one e-mail address may send in a day (each one e-mails that address).
DAILY_LIMIT = 5


class ReferralError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


@dataclass
class Desk:
    organisation: Organisation
    desk: ServiceDesk
    distance_km: float | None
    same_province: bool


@dataclass
class EmployerContact:
    name: str
    email: str
    phone: str


def desks_for(vacancy: Vacancy) -> list[Desk]:
    """The desks that take candidacies for ``vacancy``: those in its province, else the
    nearest few; verified services only."""
    rows = db.session.execute(
        select(ServiceDesk, Organisation)
        .join(Organisation, Organisation.id == ServiceDesk.organisation_id)
        .where(
            ServiceDesk.accepts_candidacies.is_(True),
            Organisation.kind == SERVICE,
            Organisation.service_type.in_(CANDIDACY_SERVICE_TYPES),
            Organisation.verified_at.is_not(None),
        )
    ).all()
    place = vacancy.municipality
    desks = [
        Desk(
            org,
            desk,
            distance_between(place, org.municipality),
            org.municipality is not None and org.municipality.province_code == place.province_code,
        )
        for desk, org in rows
    ]
    desks.sort(
        key=lambda d: (
            not d.same_province,
            d.distance_km is None,
            d.distance_km or 0,
            d.organisation.name,
        )
    )
    local = [d for d in desks if d.same_province]
    return local or desks[:NEAREST]


def employer_contact(vacancy: Vacancy) -> EmployerContact | None:
    """The contact the employer chose for the vacancy's company profile, when it gave one."""
    profile = db.session.get(CompanyProfile, vacancy.organisation_id)
    if profile is None or not (profile.contact_email or profile.contact_phone):
        return None
    return EmployerContact(profile.contact_name, profile.contact_email, profile.contact_phone)


def accepts_referrals(vacancy: Vacancy) -> bool:
    """Whether a person can apply for ``vacancy`` on the portal (schema.org directApply)."""
    return bool(desks_for(vacancy))


def service_brokers(service_id: int) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == service_id,
                Membership.role == BROKER,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
        .scalars()
        .unique()
    )


def create_request(
    vacancy: Vacancy,
    desk: Desk,
    full_name: str,
    email: str,
    phone: str,
    locale: str,
) -> ReferralRequest:
    """Record the request, tell the service's brokers, acknowledge to the person (one
    transaction: nothing is half-written). The same person asks once per vacancy, and an
    address gets at most ``DAILY_LIMIT`` acknowledgements a day."""
    address = email.strip().lower()
    same = select(func.count()).where(func.lower(ReferralRequest.email) == address)
    if db.session.execute(same.where(ReferralRequest.vacancy_id == vacancy.id)).scalar_one():
        raise ReferralError(
            {
                "email": _(
                    "You have already asked to be put forward for this vacancy: the desk "
                    "will contact you."
                )
            }
        )
    since = utcnow() - timedelta(days=1)
    if (
        db.session.execute(same.where(ReferralRequest.created_at >= since)).scalar_one()
        >= DAILY_LIMIT
    ):
        raise ReferralError(
            {
                "email": _(
                    "Too many requests from this address today: try again tomorrow or call "
                    "the desk."
                )
            }
        )
    request = ReferralRequest(
        vacancy_id=vacancy.id,
        service_id=desk.organisation.id,
        full_name=full_name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        locale=locale,
        consent_at=utcnow(),
        status=REFERRAL_NEW,
    )
    db.session.add(request)
    db.session.flush()
    link = url_for("brokerage.referral_inbox", _anchor=f"referral-{request.id}")
    for broker in service_brokers(desk.organisation.id):
        with force_locale(broker.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            notify(
                broker,
                _(
                    "New request to be put forward for “%(title)s” (%(employer)s)",
                    title=vacancy.title,
                    employer=vacancy.organisation.name,
                ),
                link,
            )
    with force_locale(locale):
        mail.send(
            request.email,
            _("Ponte: we received your request"),
            acknowledgement(request, vacancy, desk),
        )
    db.session.commit()
    return request


def acknowledgement(request: ReferralRequest, vacancy: Vacancy, desk: Desk) -> str:
    lines = [
        _("Dear %(name)s,", name=request.full_name),
        "",
        _(
            "%(desk)s received your request to be put forward for the vacancy “%(title)s” "
            "(%(employer)s). The desk will contact you to arrange a meeting.",
            desk=desk.organisation.name,
            title=vacancy.title,
            employer=vacancy.organisation.name,
        ),
        "",
    ]
    if desk.desk.address:
        lines.append(_("Address: %(value)s", value=desk.desk.address))
    if desk.desk.opening_hours:
        lines.append(_("Opening hours: %(value)s", value=desk.desk.opening_hours))
    if desk.desk.phone:
        lines.append(_("Telephone: %(value)s", value=desk.desk.phone))
    lines += [
        "",
        _(
            "You agreed to be contacted about this vacancy only. To withdraw, answer this "
            "e-mail or tell the desk."
        ),
        "",
        url_for("employers.vacancy_detail", vacancy_id=vacancy.id, _external=True),
    ]
    return "\n".join(lines)


def inbox_query(service_ids: set[int], status: str | None = None):  # type: ignore[no-untyped-def]
    stmt = (
        select(ReferralRequest)
        .where(ReferralRequest.service_id.in_(service_ids))
        .order_by(ReferralRequest.created_at.desc(), ReferralRequest.id.desc())
    )
    if status:
        stmt = stmt.where(ReferralRequest.status == status)
    return stmt


def set_status(request: ReferralRequest, status: str, actor: User) -> None:
    if status not in (REFERRAL_NEW, REFERRAL_CONTACTED, REFERRAL_CLOSED):
        raise ValueError(status)
    request.status = status
    request.handled_by_id = actor.id
    request.handled_at = utcnow()
    db.session.commit()
