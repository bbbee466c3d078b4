"""Flask extensions, created unbound and attached in the app factory."""

from flask import session
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect


class SignedInSessionProtection(LoginManager):
    """Flask-Login whose "strong" session protection guards signed-in sessions only.

    Flask-Login treats any session without its identifier as hijacked, so an anonymous
    visitor's session (a language, a CSRF token) was emptied and a remember-cookie
    deletion sent on every request: every later page of that visitor changed the session
    and could not come from the page cache. A session that names no user has nothing
    to protect; one that does is checked exactly as before.
    """

    def _session_protection_failed(self) -> bool:
        if "_user_id" not in session:
            return False
        return super()._session_protection_failed()


babel = Babel()
csrf = CSRFProtect()
login_manager = SignedInSessionProtection()
