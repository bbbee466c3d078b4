"""Opening an account from a registration form, for both ways of signing up.

The password form (portal.auth) and the short form of a person who arrives with SPID or
CIE (portal.spid.views) ask for the same account and organisation: ``create_account_from_form``
applies the account rules of portal.accounts, puts a broken rule next to its field, and
records the registration; ``flash_account_created`` tells the person what happens next.
"""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _

from portal import accounts, audit, db
from portal.forms import RegistrationForm
from portal.models import BUYER, User


def create_account_from_form(
    form: RegistrationForm, password: str | None, **user_fields: object
) -> User | None:
    """The account (and organisation request) a registration form asks for, committed;
    None with the errors next to the fields when a rule is broken."""
    role = form.role.data
    org_fields = {
        "service_type": form.service_type.data or None,
        "comune_code": form.comune.data,
        "register_number": form.register_number.data or "",
        "regional_register": form.regional_register.data or "",
    }
    org_name = None if role == BUYER else form.org_name.data
    if org_name and accounts.find_organisation(org_name) is not None:
        form.org_name.errors.append(
            _("This organisation is already registered: ask one of its members to add you.")
        )
        return None
    try:
        user = accounts.create_user(
            form.email.data or "",
            password,
            role,
            org_name=org_name,
            full_name=form.full_name.data or "",
            locale=form.locale.data,
            org_fields=org_fields,
        )
    except accounts.AccountError as error:
        getattr(form, error.field or "email", form.email).errors.append(str(error))
        return None
    for name, value in user_fields.items():
        setattr(user, name, value)
    db.session.flush()
    audit.record("user.register", user, actor=user, role=role)
    db.session.commit()
    return user


def flash_account_created(user: User) -> None:
    if user.organisations():
        flash(
            _(
                "Account created. An administrator will verify your organisation "
                "before it appears in the network directory."
            ),
            "success",
        )
    else:
        flash(_("Account created. Welcome to Ponte."), "success")
