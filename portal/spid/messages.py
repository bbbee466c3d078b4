"""The messages SPID/CIE users see when sign-in fails.

Anomaly codes 19-25 and 30 are the ones the IdP reports in StatusMessage ("ErrorCode nrNN");
the SP must show the user the message AgID prescribes for each (Regole tecniche SPID,
"Tabella messaggi di anomalia"). The Italian catalogue carries AgID's wording.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ANOMALIES = {
    19: (
        _l("Authentication failed after repeated submission of wrong credentials."),
        _l("Enter the correct credentials."),
    ),
    20: (
        _l("You have no credentials of the authentication level the service requires."),
        _l("Obtain credentials of a level suitable for the service."),
    ),
    21: (
        _l("Timeout during user authentication."),
        _l("Remember that authentication must be completed within a given time."),
    ),
    22: (
        _l("You refused consent to send your data to the service provider."),
        _l("Your consent is needed to access the service."),
    ),
    23: (_l("Your identity is suspended or revoked, or your credentials are blocked."), None),
    25: (_l("Authentication cancelled by the user."), None),
    30: (
        _l("The digital identity you used is not of the expected type."),
        _l("Sign in with the credentials of the type of digital identity required."),
    ),
}

GENERIC = _l("Sign-in with the digital identity failed: the answer of the identity provider "
             "could not be accepted. Try again.")  # fmt: skip
