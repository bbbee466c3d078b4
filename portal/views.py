"""Public pages of the core: home, network directory, search, language, health."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select, text

from portal import audit, concurrency, db, memo, municipalities, provinces, search
from portal.forms import OrganisationForm
from portal.models import (
    COOPERATIVE_B,
    ORG_KIND_LABELS,
    ORG_KINDS,
    SERVICE,
    SERVICE_TYPE_LABELS,
    SERVICE_TYPES,
    SOCIAL_FARM_KIND,
    Municipality,
    Organisation,
)
from portal.permissions import is_admin, login_required, public, require
from portal.search.highlight import mark

#: Characters Werkzeug leaves unescaped in the query strings url_for builds.
URL_SAFE = "!$'()*,/:;?@"

bp = Blueprint("portal", __name__)


def page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


@bp.route("/")
@public
def home() -> Any:
    # Verifying an organisation reaches the search outbox: the counts hold until then.
    counts = memo.remember(
        ("home.organisations",),
        lambda: dict(
            db.session.execute(
                select(Organisation.kind, func.count())
                .where(Organisation.verified_at.is_not(None))
                .group_by(Organisation.kind)
            ).all()
        ),
    )
    stats = [
        (counts.get(COOPERATIVE_B, 0), _("type-B social cooperatives")),
        (counts.get(SOCIAL_FARM_KIND, 0), _("social farms")),
        (counts.get(SERVICE, 0), _("public and accredited services")),
        (counts.get("company", 0), _("companies in the network")),
    ]
    for provider in current_app.extensions.get("ponte_home_stats", []):
        stats.extend(provider())
    return render_template("portal/home.html", stats=stats)


@bp.route("/lang/<code>")
@public
def set_language(code: str) -> Any:
    """The visible language switch: remember the choice, go back where we were."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    target = request.args.get("next") or url_for("portal.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("portal.home")
    return redirect(target)


def directory_query(args: Any) -> tuple[Any, dict[str, str]]:
    """The directory's filtered query and the filters that were applied."""
    filters = {
        key: (args.get(key) or "").strip()
        for key in ("q", "kind", "service_type", "region", "province")
    }
    stmt = (
        select(Organisation)
        .outerjoin(Municipality)
        .where(Organisation.verified_at.is_not(None))
        .order_by(Organisation.name)
    )
    if filters["kind"] in ORG_KINDS:
        stmt = stmt.where(Organisation.kind == filters["kind"])
    if filters["service_type"] in SERVICE_TYPES:
        stmt = stmt.where(Organisation.service_type == filters["service_type"])
    if filters["region"]:
        stmt = stmt.where(Municipality.region == filters["region"])
    if filters["province"]:
        stmt = stmt.where(Municipality.province_code == filters["province"].upper())
    if filters["q"]:
        like = "%" + filters["q"].lower().replace("%", "") + "%"
        stmt = stmt.where(
            or_(func.lower(Organisation.name).like(like), func.lower(Municipality.name).like(like))
        )
    return stmt, filters


@bp.route("/directory")
@public
def directory() -> Any:
    stmt, filters = directory_query(request.args)
    page = db.paginate(stmt, page_arg(), current_app.config["PER_PAGE"])
    return render_template(
        "portal/directory.html",
        page=page,
        filters=filters,
        kinds=ORG_KIND_LABELS,
        service_types=SERVICE_TYPE_LABELS,
        regions=municipalities.regions(),
        province_choices=provinces.choices(),
    )


@bp.route("/directory/<int:org_id>")
@bp.route("/directory/<int:org_id>-<slug>")
@public
def organisation_detail(org_id: int, slug: str = "") -> Any:
    org = db.session.get(Organisation, org_id)
    is_member = current_user.is_authenticated and org in current_user.organisations()
    if org is None or not (org.is_verified or is_member or is_admin(current_user)):
        abort(404)
    if slug != org.slug:
        return redirect(url_for("portal.organisation_detail", org_id=org.id, slug=org.slug))
    return render_template("portal/organisation.html", org=org, is_member=is_member)


@bp.route("/my/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def organisation_edit(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    require(org in current_user.organisations())

    def build(**kwargs: Any) -> OrganisationForm:
        form = OrganisationForm(obj=org, **kwargs)
        if (request.method == "GET" or kwargs) and org.municipality:
            form.comune.data = org.municipality.label
        return form

    form = concurrency.edit_form(build, org)
    if concurrency.may_save(form, build, org):
        for field in (
            "description",
            "address",
            "website",
            "email",
            "phone",
            "register_number",
            "regional_register",
        ):
            setattr(org, field, getattr(form, field).data or "")
        org.comune_code = form.comune.data
        audit.record("organisation.update", org)
        db.session.commit()
        flash(_("The organisation profile has been saved."), "success")
        return redirect(url_for("portal.organisation_detail", org_id=org.id, slug=org.slug))
    return render_template(
        "portal/organisation_edit.html", form=form, org=org
    ), concurrency.status()


@bp.route("/search")
@public
def search_page() -> Any:
    q = (request.args.get("q") or "").strip()[:200]
    doc_type = request.args.get("type") or ""
    filters = {k: request.args[k] for k in ("region", "province", "kind") if request.args.get(k)}
    results = None
    if q or doc_type or filters:
        results = search.query(
            q,
            doc_types=[doc_type] if doc_type else None,
            filters=filters,
            page=page_arg(),
            per_page=current_app.config["PER_PAGE"],
        )
    labels = {
        "organisation": _("Organisation"),
        "good_practice": _("Good practice"),
        "tender": _("Tender"),
        **ORG_KIND_LABELS,
    }
    labels.update(current_app.extensions.get("ponte_search_labels", {}))
    facet_labels = {
        "doc_type": _("Type of content"),
        "kind": _("Kind"),
        "region": _("Region"),
        "province": _("Province"),
    }

    def value_label(facet: str, value: str) -> str:
        """A facet value as people read it: a translated label, a province by name."""
        if facet == "province":
            return provinces.name(value)
        return str(labels.get(value, value))

    # A facet's link keeps the other arguments and starts again at page 1; the address is
    # built once, not once for each of up to two hundred facet values.
    base, args = url_for("portal.search_page"), request.args.to_dict()
    prefixes: dict[str, str] = {}

    def facet_url(facet: str, value: str) -> str:
        name = "type" if facet == "doc_type" else facet
        prefix = prefixes.get(name)
        if prefix is None:
            others = {k: v for k, v in args.items() if k not in (name, "page")}
            prefix = prefixes[name] = f"{base}?{urlencode({**others, 'page': 1}, safe=URL_SAFE)}"
        return f"{prefix}&{urlencode({name: value}, safe=URL_SAFE)}"

    return render_template(
        "portal/search.html",
        q=q,
        doc_type=doc_type,
        filters=filters,
        results=results,
        doc_type_labels=labels,
        facet_labels=facet_labels,
        value_label=value_label,
        facet_url=facet_url,
        mark=mark,
    )


@bp.route("/healthz")
@public
def healthz() -> Any:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "error"
    checks["search"] = "ok" if search.healthy() else "error"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "error", checks=checks), 200 if ok else 503


@bp.route("/privacy")
@public
def privacy() -> Any:
    return render_template("portal/privacy.html")


@bp.route("/accessibility")
@public
def accessibility() -> Any:
    return render_template("portal/accessibility.html")


@bp.route("/robots.txt")
@public
def robots() -> Any:
    """Crawlers may index the public pages; private areas are behind sign-in anyway."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /my/",
        "Disallow: /account",
        "",
        "Sitemap: " + url_for("sitemap.index", _external=True),
        "",
    ]
    return current_app.response_class("\n".join(lines), mimetype="text/plain")
