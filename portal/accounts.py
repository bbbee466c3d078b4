"""Account and organisation rules, free of any HTTP request."""

from __future__ import annotations

import hmac

import pyotp
from sqlalchemy import func, select, update

from portal import audit, db
from portal.db import utcnow
from portal.models import (
    COOPERATIVE_B,
    ROLE_ORG_KIND,
    ROLES,
    SERVICE,
    SOCIAL_FARM_KIND,
    ApiToken,
    LoginAttempt,
    Membership,
    Organisation,
    User,
    hash_token,
    slugify,
)


class AccountError(ValueError):
    """A rule was broken; ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def find_organisation(name: str) -> Organisation | None:
    return db.session.execute(
        select(Organisation).where(func.lower(Organisation.name) == name.strip().lower())
    ).scalar_one_or_none()


def create_organisation(name: str, kind: str, **fields: object) -> Organisation:
    org = Organisation(name=name.strip(), slug=slugify(name), kind=kind, **fields)
    db.session.add(org)
    return org


def create_user(
    email: str,
    password: str | None,
    role: str,
    *,
    org_name: str | None = None,
    full_name: str = "",
    locale: str | None = None,
    org_fields: dict[str, object] | None = None,
) -> User:
    """Create a user with ``role``; a new ``org_name`` creates the organisation of the
    kind that fits the role. Raises AccountError on any rule broken; adds nothing then."""
    from flask_babel import gettext as _

    if role not in ROLES:
        raise AccountError(_("Unknown role."), "role")
    if find_user(email) is not None:
        raise AccountError(_("An account with this e-mail address already exists."), "email")
    kind = ROLE_ORG_KIND[role]
    org = None
    if org_name:
        org = find_organisation(org_name)
        if org is None:
            if kind is None:
                raise AccountError(_("This role does not belong to an organisation."), "org")
            org = create_organisation(org_name, kind, **(org_fields or {}))
        elif kind is not None and org.kind != kind:
            raise AccountError(_("That organisation is of another kind."), "org")
    elif kind is not None:
        raise AccountError(_("This role needs an organisation."), "org")
    if kind == SERVICE and org is not None and not org.service_type:
        raise AccountError(_("Choose the type of service."), "service_type")
    user = User(email=normalise_email(email), full_name=full_name.strip(), locale=locale)
    if password:
        user.set_password(password)
    user.memberships.append(Membership(role=role, organisation=org))
    db.session.add(user)
    return user


def verification_problem(org: Organisation) -> str | None:
    """Why ``org`` cannot be verified yet, or None."""
    from flask_babel import gettext as _

    if org.kind == COOPERATIVE_B and not org.register_number.strip():
        # L. 381/1991 and DM 23/06/2004: cooperatives are enrolled in the Albo.
        return _("A type-B cooperative must give its number in the register of cooperatives.")
    if org.kind == SOCIAL_FARM_KIND and not org.regional_register.strip():
        # L. 141/2015 art. 7: regions keep registers of social-agriculture operators.
        return _("A social farm must give its enrolment in the regional register.")
    return None


def verify_organisation(org: Organisation, admin: User | None, reason: str = "") -> None:
    problem = verification_problem(org)
    if problem:
        raise AccountError(problem)
    if org.verified_at is None:
        org.verified_at = utcnow()
        org.verified_by_id = admin.id if admin else None
        audit.record("organisation.verify", org, actor=admin, reason=reason)


def unverify_organisation(org: Organisation, admin: User, reason: str) -> None:
    if org.verified_at is not None:
        org.verified_at = None
        org.verified_by_id = None
        audit.record("organisation.unverify", org, actor=admin, reason=reason)


def issue_token(user: User, name: str = "") -> str:
    token, clear = ApiToken.issue(user, name=name)
    db.session.add(token)
    audit.record("token.create", user, actor=user)
    return clear


def user_for_token(clear: str) -> User | None:
    token = db.session.execute(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(clear), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if token is None or not token.user.active:
        return None
    return token.user


# --- Sign-in record (throttling itself: portal.ratelimit) ------------------------------


def record_login_attempt(email: str, ip: str, success: bool) -> None:
    db.session.add(LoginAttempt(email=normalise_email(email)[:254], ip=ip, success=success))


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def accept_totp(user: User, code: str, secret: str | None = None) -> bool:
    """Check a TOTP code (one step of clock drift either way) and use it up.

    RFC 6238 §5.2: a verifier must not accept the second attempt of a code once the first
    succeeded. The last accepted time step is kept per user and moved forward with one
    conditional UPDATE, so two requests racing with one code (on two workers or nodes)
    cannot both pass. ``secret`` is a secret being set up, not yet saved.
    """
    totp = pyotp.TOTP(secret or user.totp_secret or "")
    code = (code or "").strip()
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if not hmac.compare_digest(totp.generate_otp(step), code):
            continue
        result = db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(user, ["totp_last_step"])
        return result.rowcount == 1  # type: ignore[attr-defined]
    return False
