"""The short registration after a first SPID/CIE sign-in: no password (the digital identity
is the credential), the rest as the usual registration (role and organisation request)."""

from __future__ import annotations

from portal.forms import RegistrationForm


class SpidRegistrationForm(RegistrationForm):
    password = None
    confirm = None
