"""Sign-in, registration, password reset and two-factor authentication."""

from __future__ import annotations

from typing import Any

import pyotp
import segno
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from portal import accounts, audit, db, mail, metrics, ratelimit
from portal.db import utcnow
from portal.forms import (
    AccountForm,
    ChangePasswordForm,
    ConfirmForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    RegistrationForm,
    TwoFactorForm,
)
from portal.gate import needs_2fa_setup
from portal.i18n import LANG_CHOSEN
from portal.landing import safe_next
from portal.models import User
from portal.permissions import login_required, public
from portal.registration import create_account_from_form, flash_account_created

bp = Blueprint("auth", __name__)

PENDING_2FA = "pending_2fa_user"


def init_login(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.login_view = "auth.login"
    manager.login_message = None
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        """The user a session or remember cookie names, checked against the database on
        every request: a cookie from before a logout, a password or 2FA change or a
        deactivation carries an older session version and opens nothing."""
        uid, _, version = user_id.partition(".")
        if not (uid.isdigit() and version.isdigit()):
            return None
        user = db.session.get(User, int(uid))
        if user is None or not user.active or int(version) != (user.session_version or 0):
            return None
        return user


def _ip() -> str:
    return request.remote_addr or ""


def _finish_login(user: User, remember: bool) -> Any:
    session.pop(PENDING_2FA, None)
    login_user(user, remember=remember)
    user.last_login_at = utcnow()
    chosen = session.get("lang")
    if session.pop(LANG_CHOSEN, False) and chosen in current_app.config["LANGUAGES"]:
        # Chosen on this visit before signing in (?lang=): it wins and becomes the setting.
        user.locale = chosen
    elif user.locale:
        session["lang"] = user.locale
    accounts.record_login_attempt(user.email, _ip(), success=True)
    ratelimit.reset("login_pair", user.email, _ip())
    audit.record("login", user, actor=user)
    db.session.commit()
    if needs_2fa_setup(user):
        flash(_("Your role requires two-factor authentication: set it up now."), "warning")
        return redirect(url_for("auth.two_factor_setup"))
    flash(_("Welcome, %(name)s.", name=user.display_name), "success")
    return redirect(safe_next(request.args.get("next"), user))


def spid_required(user: User) -> bool:
    """Roles that the SPID_REQUIRED_ROLES setting keeps off the password form (only when
    SPID/CIE sign-in is configured, so nobody is locked out)."""
    settings = current_app.extensions.get("spid")
    return settings is not None and bool(user.roles.intersection(settings.required_roles))


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("portal.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data or "")
        retry_after = _login_blocked(email)
        if retry_after:
            form.email.errors.append(_too_many_attempts(retry_after))
            return _throttled("auth/login.html", retry_after, form=form)
        user = accounts.authenticate(email, form.password.data or "")
        if user is None:
            accounts.record_login_attempt(email, _ip(), success=False)
            db.session.commit()
            _count_login_failure(email)
            metrics.login_failure("password")
            form.password.errors.append(_("E-mail or password is not correct."))
            return render_template("auth/login.html", form=form), 200
        if spid_required(user):
            form.email.errors.append(
                _(
                    "Your role signs in only with SPID or CIE, so that staff who read "
                    "sensitive data are identified at level 2: use the buttons above."
                )
            )
            return render_template("auth/login.html", form=form), 403
        if user.totp_enabled:
            session[PENDING_2FA] = {"id": user.id, "remember": bool(form.remember.data)}
            return redirect(url_for("auth.login_two_factor", next=request.args.get("next")))
        return _finish_login(user, bool(form.remember.data))
    return render_template("auth/login.html", form=form)


# --- Sign-in throttling ----------------------------------------------------------------
# Wrong passwords and two-factor codes count for the (account, address) pair, the account
# and the address (portal.ratelimit). The pair is refused first: an attacker elsewhere
# cannot lock a real user out. The account alone is refused only at a much higher count,
# and then its owner receives a link that lifts the lock.


def _login_blocked(email: str) -> int | None:
    waits = [
        ratelimit.blocked("login_pair", email, _ip()),
        ratelimit.blocked("login_account", email),
        ratelimit.blocked("login_address", _ip()),
    ]
    return max((w for w in waits if w), default=None)


def _count_login_failure(email: str) -> None:
    ratelimit.count_failure("login_pair", email, _ip())
    ratelimit.count_failure("login_address", _ip())
    if ratelimit.count_failure("login_account", email):
        user = accounts.find_user(email)
        if user is not None and user.active:
            link = url_for(
                "auth.login_unlock", token=_unlock_serializer().dumps(user.id), _external=True
            )
            mail.send(
                user.email,
                _("Ponte: sign-in to your account is locked"),
                render_template("auth/email_unlock.txt", user=user, link=link),
            )
            audit.record("login.account_locked", user, actor=None)
            db.session.commit()


def _too_many_attempts(retry_after: int) -> str:
    return _(
        "Too many failed attempts. Wait %(minutes)d minutes and try again.",
        minutes=max(1, -(-retry_after // 60)),
    )


def _throttled(template: str, retry_after: int, **context: Any) -> Any:
    metrics.rate_limit_hit("login")
    return render_template(template, **context), 429, {"Retry-After": str(retry_after)}


def _unlock_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-unlock")


@bp.route("/login/unlock/<token>")
@public
def login_unlock(token: str) -> Any:
    """The e-mailed link that lifts the account-wide lock (and this address's own)."""
    try:
        user_id = _unlock_serializer().loads(token, max_age=24 * 3600)
    except (BadSignature, SignatureExpired):
        user_id = None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        flash(_("The unlock link is not valid or has expired."), "danger")
        return redirect(url_for("auth.login"))
    ratelimit.reset("login_account", user.email)
    ratelimit.reset("login_pair", user.email, _ip())
    audit.record("login.account_unlocked", user, actor=user)
    db.session.commit()
    flash(_("Sign-in to your account is unlocked. You can sign in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/login/2fa", methods=["GET", "POST"])
@public
def login_two_factor() -> Any:
    pending = session.get(PENDING_2FA)
    user = db.session.get(User, pending["id"]) if pending else None
    if user is None or not user.totp_enabled:
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        retry_after = _login_blocked(user.email)
        if retry_after:
            form.code.errors.append(_too_many_attempts(retry_after))
            return _throttled("auth/two_factor.html", retry_after, form=form)
        if accounts.accept_totp(user, form.code.data or ""):
            return _finish_login(user, pending.get("remember", False))
        accounts.record_login_attempt(user.email, _ip(), success=False)
        db.session.commit()
        _count_login_failure(user.email)
        metrics.login_failure("2fa")
        form.code.errors.append(_("The code is not valid."))
    return render_template("auth/two_factor.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    user: User = current_user._get_current_object()
    user.end_sessions()  # every copy of the cookie, in any browser, stops working
    audit.record("logout", user)
    spid_logout = None
    if current_app.extensions.get("spid") is not None:
        # SAML (pysaml2) is loaded only where SPID/CIE sign-in is configured.
        from portal.spid.views import start_logout

        spid_logout = start_logout()  # a SPID/CIE session also ends at the IdP
    db.session.commit()
    logout_user()
    session.pop("lang", None)
    session.pop(LANG_CHOSEN, None)
    flash(_("You have signed out."), "info")
    if spid_logout is not None:
        from portal.spid.views import saml_post_page

        return saml_post_page(spid_logout)
    return redirect(url_for("portal.home"))


@bp.route("/register", methods=["GET", "POST"])
@public
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("portal.home"))
    form = RegistrationForm()
    if request.method == "GET":
        form.locale.data = request.args.get("lang") or session.get("lang") or "it"
    if request.method == "POST":
        ratelimit.enforce("register", _ip())
    if form.validate_on_submit():
        user = create_account_from_form(form, form.password.data)
        if user is not None:
            login_user(user)
            session["lang"] = user.locale or "it"
            flash_account_created(user)
            return redirect(url_for("portal.home"))
    return render_template("auth/register.html", form=form)


# --- Password reset -------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user: User) -> str:
    # The hash fragment makes the token single-use: it dies when the password changes.
    return _reset_serializer().dumps({"id": user.id, "h": user.password_hash[-16:]})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("id"))
    if user is None or user.password_hash[-16:] != data.get("h"):
        return None
    return user


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password() -> Any:
    form = PasswordResetRequestForm()
    if request.method == "POST":
        ratelimit.enforce("password_reset_address", _ip())
    if form.validate_on_submit():
        # Counted for every address asked for, registered or not: no enumeration.
        ratelimit.enforce("password_reset_account", form.email.data or "")
        user = accounts.find_user(form.email.data or "")
        if user is not None and user.active:
            link = url_for("auth.reset_password", token=make_reset_token(user), _external=True)
            mail.send(
                user.email,
                _("Ponte: reset your password"),
                render_template("auth/email_reset.txt", user=user, link=link),
            )
            audit.record("password.reset_requested", user, actor=user)
            db.session.commit()
        # The same answer whether or not the address exists: no account enumeration.
        flash(_("If the address is registered, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> Any:
    user = user_for_reset_token(token)
    if user is None:
        flash(_("The reset link is not valid or has expired. Ask for a new one."), "danger")
        return redirect(url_for("auth.forgot_password"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        user.set_password(form.password.data or "")
        user.end_sessions()
        audit.record("password.reset", user, actor=user)
        db.session.commit()
        flash(_("Your password has been changed. You can sign in now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


# --- Account settings and two-factor set-up ------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    user: User = current_user._get_current_object()
    form = AccountForm(obj=user, prefix="profile")
    password_form = ChangePasswordForm(prefix="password")
    if form.submit.data and form.validate_on_submit():
        user.full_name = form.full_name.data or ""
        user.locale = form.locale.data
        session["lang"] = user.locale
        db.session.commit()
        flash(_("Your settings have been saved."), "success")
        return redirect(url_for("auth.account"))
    if password_form.submit.data and password_form.validate_on_submit():
        if not user.check_password(password_form.current.data or ""):
            password_form.current.errors.append(_("The current password is not correct."))
        else:
            user.set_password(password_form.password.data or "")
            _end_other_sessions(user)
            audit.record("password.change", user)
            db.session.commit()
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html",
        form=form,
        password_form=password_form,
        user=user,
        disable_form=ConfirmForm(prefix="disable"),
        spid_unlink_form=ConfirmForm(prefix="spid-unlink"),
    )


@bp.route("/account/2fa", methods=["GET", "POST"])
@login_required
def two_factor_setup() -> Any:
    user: User = current_user._get_current_object()
    if user.totp_enabled:
        return redirect(url_for("auth.account"))
    secret = session.get("totp_setup_secret") or pyotp.random_base32()
    session["totp_setup_secret"] = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Ponte")
    form = TwoFactorForm()
    if form.validate_on_submit():
        if accounts.accept_totp(user, form.code.data or "", secret):
            user.totp_secret = secret
            user.totp_enabled = True
            session.pop("totp_setup_secret", None)
            _end_other_sessions(user)
            audit.record("2fa.enable", user)
            db.session.commit()
            flash(_("Two-factor authentication is on."), "success")
            return redirect(url_for("auth.account"))
        form.code.errors.append(_("The code is not valid."))
    qr_svg = Markup(segno.make(uri).svg_inline(scale=5, title=_("QR code to scan")))  # noqa: S704
    return render_template("auth/two_factor_setup.html", form=form, secret=secret, qr_svg=qr_svg)


@bp.route("/account/2fa/disable", methods=["POST"])
@login_required
def two_factor_disable() -> Any:
    user: User = current_user._get_current_object()
    form = ConfirmForm(prefix="disable")
    if not form.validate_on_submit():
        abort(400)
    if needs_2fa_setup(_without_2fa(user)):
        flash(_("Your role requires two-factor authentication: it cannot be turned off."), "danger")
        return redirect(url_for("auth.account"))
    user.totp_enabled = False
    user.totp_secret = None
    _end_other_sessions(user)
    audit.record("2fa.disable", user)
    db.session.commit()
    flash(_("Two-factor authentication is off."), "info")
    return redirect(url_for("auth.account"))


def _end_other_sessions(user: User) -> None:
    """End every session of ``user`` but keep this browser signed in (with a fresh cookie)."""
    remember = bool(
        request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    )
    user.end_sessions()
    login_user(user, remember=remember, fresh=True)


def _without_2fa(user: User) -> User:
    """The user as they would be with 2FA off (to ask whether policy allows it)."""

    class _Probe:
        totp_enabled = False
        roles = user.roles

    return _Probe()  # type: ignore[return-value]
