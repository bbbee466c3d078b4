"""SPID and CIE routes: metadata, login, assertion consumer service, single logout, the
short registration of people new to Ponte, and linking an identity to an account."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
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
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete, select
from stdnum.it import codicefiscale

from portal import audit, db, headers
from portal.db import utcnow
from portal.extensions import csrf
from portal.forms import ConfirmForm
from portal.landing import role_home, safe_next
from portal.models import User
from portal.permissions import login_required, public
from portal.registration import create_account_from_form, flash_account_created
from portal.spid import sp
from portal.spid.config import REQUEST_MAX_AGE_SECONDS, Settings
from portal.spid.forms import SpidRegistrationForm
from portal.spid.messages import ANOMALIES, GENERIC
from portal.spid.models import SpidRequest, consume

PENDING = "spid_pending"  # the identity of a person registering (signed session cookie)
SIGNED_IN = "spid_session"  # IdP, NameID and SessionIndex of a SPID/CIE sign-in, for SLO


def saml_post_page(form: Any, profile: Any = None) -> Any:
    """The page that posts a SAML message to the identity provider (HTTP-POST binding);
    the Content-Security-Policy lets this page's form reach that provider."""
    headers.allow_form_action(form["action"] if isinstance(form, dict) else form.action)
    return render_template("spid/post.html", form=form, profile=profile)


def settings() -> Settings:
    return current_app.extensions["spid"]


def fiscal_hash(fiscal_code: str) -> str:
    """The fiscal number as the audit log keeps it: keyed hash, never in clear."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, fiscal_code.upper().encode(), hashlib.sha256).hexdigest()[:24]


def make_blueprint(profile: str) -> Blueprint:
    bp = Blueprint(profile, __name__, url_prefix=f"/{profile}", template_folder="templates")

    @bp.route("/metadata")
    @public
    def metadata() -> Any:
        xml = sp.metadata(settings(), profile)
        return current_app.response_class(xml, mimetype="application/samlmetadata+xml")

    @bp.route("/login")
    @public
    def login() -> Any:
        idp = _chosen_idp(profile)
        if current_user.is_authenticated:
            return redirect(role_home(current_user))
        return _start(profile, idp, level=settings().level_default, next_url=_next_arg())

    @bp.route("/link")
    @login_required
    def link() -> Any:
        idp = _chosen_idp(profile)
        user: User = current_user._get_current_object()
        level = settings().level_for(user.roles)
        return _start(profile, idp, level=level, next_url=url_for("auth.account"), link=user)

    @bp.route("/link/<request_id>")
    @login_required
    def link_complete(request_id: str) -> Any:
        return _complete_link(profile, request_id)

    @bp.route("/acs", methods=["POST"])
    @public
    @csrf.exempt
    def acs() -> Any:
        return _consume_response(profile)

    @bp.route("/slo", methods=["GET", "POST"])
    @public
    @csrf.exempt
    def slo() -> Any:
        return _single_logout(profile)

    return bp


def _next_arg() -> str:
    target = request.args.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else ""


def _chosen_idp(profile: str) -> str:
    providers = sp.identity_providers(settings(), profile)
    idp = (request.args.get("idp") or "").strip()
    if not idp and profile == "cie" and len(providers) == 1:
        idp = providers[0].entity_id
    if idp not in {p.entity_id for p in providers}:
        abort(404)
    return idp


def _start(profile: str, idp: str, *, level: int, next_url: str, link: User | None = None) -> Any:
    request_id, form = sp.authn_request(settings(), profile, idp, level, relay_state=profile)
    # Old requests are dead: nobody can answer them any more.
    cutoff = utcnow() - timedelta(seconds=REQUEST_MAX_AGE_SECONDS * 4)
    db.session.execute(delete(SpidRequest).where(SpidRequest.created_at < cutoff))
    db.session.add(
        SpidRequest(
            id=request_id,
            profile=profile,
            idp_entity_id=idp,
            level=level,
            next_url=next_url,
            link_user_id=link.id if link is not None else None,
        )
    )
    db.session.commit()
    return saml_post_page(form, profile)


def _refuse(profile: str, reason: str, *, idp: str = "", status: int = 403, code=None) -> Any:
    audit.record(
        f"{profile}.login_failed",
        idp=idp,
        outcome="refused",
        reason=reason[:200],
        anomaly=code,
    )
    db.session.commit()
    message, hint = ANOMALIES.get(code, (GENERIC, None)) if code else (GENERIC, None)
    return (
        render_template("spid/error.html", message=message, hint=hint, code=code, profile=profile),
        status,
    )


def _consume_response(profile: str) -> Any:
    cfg = settings()
    payload = request.form.get("SAMLResponse", "")
    if not payload:
        return _refuse(profile, "no SAMLResponse", status=400)
    try:
        xml, response = sp.parse(payload)
    except sp.ResponseRefused as refused:
        return _refuse(profile, refused.reason, status=400)
    request_id = (response.in_response_to or "").strip()
    stored = db.session.get(SpidRequest, request_id) if request_id else None
    if stored is None or stored.profile != profile:
        # Unsolicited, or for a request this SP never issued.
        return _refuse(profile, "InResponseTo is not a request of this SP")
    idp = stored.idp_entity_id
    if stored.used_at is not None:
        return _refuse(profile, "response to a request already answered", idp=idp)
    if stored.created_at < utcnow() - timedelta(seconds=REQUEST_MAX_AGE_SECONDS):
        return _refuse(profile, "request expired", idp=idp)
    acs_url = sp.endpoint(cfg, profile, "acs")
    try:
        sp.check_envelope(response, acs_url=acs_url, request_issued_at=stored.created_at, idp=idp)
        if not sp.is_success(response):
            code = sp.anomaly(response)
            consume(stored.id)
            return _refuse(profile, f"IdP status: anomaly {code}", idp=idp, code=code)
        sp.check_assertion(
            response,
            profile=profile,
            acs_url=acs_url,
            idp=idp,
            request_id=stored.id,
            request_issued_at=stored.created_at,
            entity_id=cfg.entity_id,
        )
        level = sp.level_of(response)
        if level < stored.level:
            raise sp.ResponseRefused(f"level {level} below the requested {stored.level}")
        authn = sp.verify(cfg, profile, xml, stored.id)
        identity = sp.identity_from(authn, idp, level, stored.id)
        if not codicefiscale.is_valid(identity.fiscal_code):
            raise sp.ResponseRefused("fiscalNumber missing or not a valid codice fiscale")
    except sp.ResponseRefused as refused:
        return _refuse(profile, refused.reason, idp=idp)
    if not consume(stored.id):
        return _refuse(profile, "response to a request already answered", idp=idp)
    if stored.link_user_id is not None:
        return _link(profile, stored, identity)
    user = db.session.execute(
        select(User).where(User.fiscal_code == identity.fiscal_code)
    ).scalar_one_or_none()
    if user is None:
        session[PENDING] = {
            "profile": profile,
            "idp": idp,
            "level": level,
            "fiscal_code": identity.fiscal_code,
            "name": identity.name,
            "family_name": identity.family_name,
            "email": identity.email,
            "next": stored.next_url,
        }
        audit.record(
            f"{profile}.login",
            idp=idp,
            level=level,
            fiscal_hash=fiscal_hash(identity.fiscal_code),
            outcome="registration",
        )
        db.session.commit()
        return redirect(url_for("spid_account.register"))
    if not user.active:
        return _refuse(profile, "account disabled", idp=idp)
    if level < cfg.level_for(user.roles):
        # Staff who read special-category data are identified at level 2 at least, whatever
        # SPID_LEVEL_DEFAULT asked the IdP for.
        return _refuse(profile, f"level {level} below what the user's roles need", idp=idp, code=20)
    return _sign_in(profile, user, identity, stored.next_url)


def _sign_in(profile: str, user: User, identity: sp.Identity, next_url: str) -> Any:
    login_user(user)
    user.last_login_at = utcnow()
    if user.locale:
        session["lang"] = user.locale
    session[SIGNED_IN] = {
        "profile": profile,
        "idp": identity.idp,
        "name_id": identity.name_id,
        "session_index": identity.session_index,
    }
    audit.record(
        f"{profile}.login",
        user,
        actor=user,
        idp=identity.idp,
        level=identity.level,
        fiscal_hash=fiscal_hash(identity.fiscal_code),
        outcome="signed_in",
    )
    db.session.commit()
    flash(_("Welcome, %(name)s.", name=user.display_name), "success")
    return redirect(safe_next(next_url or None, user))


def _link(profile: str, stored: SpidRequest, identity: sp.Identity) -> Any:
    """The IdP's POST arrives without the session cookie (SameSite): keep the verified
    identity on the request and let the signed-in browser confirm it with a GET."""
    stored.linked_fiscal_code = identity.fiscal_code
    db.session.commit()
    return redirect(url_for(f"{profile}.link_complete", request_id=stored.id))


def _complete_link(profile: str, request_id: str) -> Any:
    user: User = current_user._get_current_object()
    stored = db.session.get(SpidRequest, request_id)
    fiscal_code = stored.linked_fiscal_code if stored is not None else None
    if stored is None or stored.link_user_id != user.id or not fiscal_code:
        abort(404)
    stored.linked_fiscal_code = None
    idp = stored.idp_entity_id
    other = db.session.execute(
        select(User).where(User.fiscal_code == fiscal_code, User.id != user.id)
    ).scalar_one_or_none()
    if other is not None:
        audit.record(
            f"{profile}.link_failed",
            user,
            idp=idp,
            fiscal_hash=fiscal_hash(fiscal_code),
            outcome="fiscal_code_in_use",
        )
        db.session.commit()
        flash(_("This digital identity is already linked to another account."), "danger")
        return redirect(url_for("auth.account"))
    user.fiscal_code = fiscal_code
    audit.record(
        f"{profile}.link",
        user,
        idp=idp,
        level=stored.level,
        fiscal_hash=fiscal_hash(fiscal_code),
        outcome="linked",
    )
    db.session.commit()
    flash(_("Your digital identity is now linked: you can sign in with SPID or CIE."), "success")
    return redirect(url_for("auth.account"))


# --- Single logout -----------------------------------------------------------------------


def start_logout() -> Any | None:
    """After a SPID/CIE sign-in, signing out also ends the IdP session (SP-initiated single
    logout): the local session ends now, and the browser carries a signed LogoutRequest to
    the IdP, whose LogoutResponse comes back to ``/<profile>/slo``. None for other sign-ins."""
    signed = session.pop(SIGNED_IN, None)
    if not signed or current_app.extensions.get("spid") is None:
        return None
    profile = signed["profile"]
    try:
        form = sp.logout_request(
            settings(), profile, signed["idp"], signed["name_id"], signed["session_index"]
        )
    except sp.ResponseRefused:
        return None
    audit.record(f"{profile}.logout", idp=signed["idp"], outcome="sp_initiated")
    return form


def _single_logout(profile: str) -> Any:
    """A LogoutRequest from the IdP (the person signed out at another SP) is checked and
    answered with a signed LogoutResponse; a LogoutResponse closes our own single logout.
    Either way the local session, if this browser sent it, ends."""
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

    binding = BINDING_HTTP_POST if request.method == "POST" else BINDING_HTTP_REDIRECT
    data = request.form if request.method == "POST" else request.args
    if data.get("SAMLRequest"):
        try:
            idp, form = sp.logout_response(settings(), profile, data["SAMLRequest"], binding)
        except sp.ResponseRefused as refused:
            return _refuse(profile, refused.reason, status=400)
        audit.record(f"{profile}.logout", idp=idp, outcome="idp_initiated")
        db.session.commit()
        if current_user.is_authenticated:
            logout_user()
        session.pop(SIGNED_IN, None)
        return saml_post_page(form, profile)
    if data.get("SAMLResponse"):
        if current_user.is_authenticated:
            logout_user()
        session.pop(SIGNED_IN, None)
        flash(_("You have signed out."), "info")
        return redirect(url_for("portal.home"))
    abort(400)


# --- Registration, linking and unlinking (shared by both profiles) ------------------------

account_bp = Blueprint("spid_account", __name__, url_prefix="/spid", template_folder="templates")


@account_bp.route("/register", methods=["GET", "POST"])
@public
def register() -> Any:
    pending = session.get(PENDING)
    if not pending:
        flash(_("Sign in with SPID or CIE first."), "info")
        return redirect(url_for("auth.login"))
    form = SpidRegistrationForm()
    if request.method == "GET":
        form.full_name.data = f"{pending['name']} {pending['family_name']}".strip()
        form.email.data = pending.get("email", "")
        form.locale.data = session.get("lang") or "it"
    if form.validate_on_submit():
        taken = db.session.execute(
            select(User).where(User.fiscal_code == pending["fiscal_code"])
        ).scalar_one_or_none()
        if taken is not None:
            session.pop(PENDING, None)
            flash(_("This digital identity is already linked to an account: sign in."), "info")
            return redirect(url_for("auth.login"))
        user = create_account_from_form(form, None, fiscal_code=pending["fiscal_code"])
        if user is not None:
            session.pop(PENDING, None)
            identity = sp.Identity(
                idp=pending["idp"],
                level=pending["level"],
                request_id="",
                fiscal_code=pending["fiscal_code"],
                name=pending["name"],
                family_name=pending["family_name"],
                email=pending.get("email", ""),
                session_index="",
                name_id="",
            )
            flash_account_created(user)
            return _sign_in(pending["profile"], user, identity, pending.get("next", ""))
    return render_template("spid/register.html", form=form, pending=pending)


@account_bp.route("/unlink", methods=["POST"])
@login_required
def unlink() -> Any:
    user: User = current_user._get_current_object()
    if not ConfirmForm(prefix="spid-unlink").validate_on_submit():
        abort(400)
    if not user.fiscal_code:
        return redirect(url_for("auth.account"))
    if not user.password_hash:
        flash(
            _("Set a password first: without it you could no longer sign in."),
            "danger",
        )
        return redirect(url_for("auth.account"))
    if user.roles.intersection(settings().required_roles):
        flash(_("Your role signs in only with SPID or CIE: the link cannot be removed."), "danger")
        return redirect(url_for("auth.account"))
    audit.record("spid.unlink", user, fiscal_hash=fiscal_hash(user.fiscal_code), outcome="unlinked")
    user.fiscal_code = None
    db.session.commit()
    flash(_("Your digital identity is no longer linked to this account."), "info")
    return redirect(url_for("auth.account"))
