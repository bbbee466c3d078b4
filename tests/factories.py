"""Factories for the core: users and organisations of every role."""

from __future__ import annotations

import itertools

from portal import db
from portal.accounts import create_organisation
from portal.db import utcnow
from portal.models import ROLE_ORG_KIND, SERVICE, Membership, Organisation, User

_seq = itertools.count(1)
PASSWORD = "Correct-Horse-9"


def make_org(kind: str = "company", *, verified: bool = True, **fields: object) -> Organisation:
    n = next(_seq)
    fields.setdefault("comune_code", "093033")  # Pordenone
    if kind == SERVICE:
        fields.setdefault("service_type", "sil")
    if kind == "cooperative_b":
        fields.setdefault("register_number", f"A{n:06d}")
    if kind == "social_farm":
        fields.setdefault("regional_register", f"REG-{n}")
    name = str(fields.pop("name", f"Test {kind} {n}"))
    org = create_organisation(name, kind, **fields)
    if verified:
        org.verified_at = utcnow()
    db.session.flush()
    return org


def make_user(
    role: str = "buyer",
    *,
    org: Organisation | None = None,
    password: str = PASSWORD,
    email: str | None = None,
    **fields: object,
) -> User:
    n = next(_seq)
    user = User(email=email or f"user{n}@example.it", full_name=f"Test User {n}", **fields)
    user.password_hash = _hash(password)
    kind = ROLE_ORG_KIND.get(role)
    if kind is not None and org is None:
        org = make_org(kind)
    user.memberships.append(Membership(role=role, organisation=org))
    db.session.add(user)
    db.session.flush()
    return user


_hashes: dict[str, str] = {}


def _hash(password: str) -> str:
    # Hashing is slow on purpose; tests reuse one hash per password.
    if password not in _hashes:
        from werkzeug.security import generate_password_hash

        _hashes[password] = generate_password_hash(password)
    return _hashes[password]
