"""Public pages of social-clause tenders: the list, a tender's detail and its OCDS release,
a buyer's transparency page, the OCDS publication policy and the files of Ponte's
social-clause extension; the next steps on the roles' homes and the sitemap. The
officer's pages are in ``officer_views``, the supplier's in ``supplier_views``, the
blueprint and shared helpers in ``blueprint``."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from brokerage.tenders import cpv, ocds, services
from brokerage.tenders.blueprint import (
    bp,
    criteria_labels,
    lang,
    list_page,
    load_tender,
    per_page,
    today,
)
from brokerage.tenders.forms import premium_measures
from brokerage.tenders.models import (
    BASES,
    CLAUSE_TYPES,
    DRAFT,
    PUBLIC_STATUSES,
    SUBMITTED,
    TENDER_STATUSES,
    ComplianceReport,
    Contract,
    Tender,
)
from portal import db, search
from portal.forms import ConfirmForm
from portal.i18n import translated
from portal.layout import HomeAction
from portal.models import PUBLIC_BODY, PUBLIC_OFFICER, Organisation
from portal.permissions import public
from portal.views import page_arg

# --- Public -----------------------------------------------------------------------------------


@bp.route("/tenders")
@public
def tender_list() -> Any:
    q = (request.args.get("q") or "").strip()[:200]
    clause = request.args.get("clause") if request.args.get("clause") in CLAUSE_TYPES else ""
    stmt = (
        select(Tender)
        .join(Organisation, Organisation.id == Tender.buyer_org_id)
        .where(Tender.status.in_(PUBLIC_STATUSES), Organisation.verified_at.is_not(None))
        # The list shows a tender's own columns, its buyer and place: not its codes,
        # lots, contracts and releases, which the detail page loads.
        .options(
            lazyload(Tender.cpv_rows),
            lazyload(Tender.lots),
            lazyload(Tender.contracts),
            lazyload(Tender.releases),
        )
    )
    if clause:
        stmt = stmt.where(Tender.clause_type == clause)
    ids = None
    if q:
        ids = tuple(int(i) for i in search.matching_ids(q, doc_types=["tender"], limit=1000))
        stmt = stmt.where(Tender.id.in_(ids))
    stmt = stmt.order_by(Tender.published_at.desc(), Tender.id.desc())
    page = db.paginate(stmt, page_arg(), per_page(), count_key=("tenders", clause, ids))
    return render_template(
        "tenders/tender_list.html",
        page=page,
        q=q,
        clause=clause,
        clause_types=translated(CLAUSE_TYPES),
        statuses=translated(TENDER_STATUSES),
    )


@bp.route("/tenders/<int:tender_id>")
@public
def tender_detail(tender_id: int) -> Any:
    tender = load_tender(tender_id)
    editor = services.can_edit(current_user, tender)
    suppliers = services.supplier_orgs(current_user)
    mine = None
    if suppliers and tender.status != DRAFT:
        facts = services.load_suppliers(today(), [suppliers[0].id])
        if facts:
            mine = services.evaluate(services.TenderFacts.of(tender), facts[0], today())
    held = [c for c in tender.contracts if services.holds_contract(current_user, c)]
    return render_template(
        "tenders/tender_detail.html",
        tender=tender,
        editor=editor,
        officer=current_user.is_authenticated and current_user.has_role(PUBLIC_OFFICER),
        warnings=services.tender_warnings(tender),
        mine=mine,
        held=held,
        cpv_label=lambda c: cpv.label(c, lang()),
        premium=premium_measures(),
        bases=BASES,
        summaries=[services.summarise(c, today()) for c in tender.contracts],
        criteria_labels=criteria_labels(),
        form=ConfirmForm(),
    )


@bp.route("/tenders/<int:tender_id>/ocds.json")
@public
def tender_ocds(tender_id: int) -> Any:
    tender = load_tender(tender_id)
    package = ocds.release_package(
        [tender], url_for("tenders.tender_ocds", tender_id=tender.id, _external=True), lang()
    )
    return Response(
        ocds.dumps(package),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{ocds.filename(tender)}"'},
    )


@bp.route("/tenders/buyers/<int:org_id>")
@public
def transparency(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != PUBLIC_BODY or not org.is_verified:
        abort(404)
    rows = services.transparency(org, today())
    return render_template("tenders/transparency.html", org=org, page=list_page(rows))


@bp.route("/ocds/publication-policy.<any(md, it.md):variant>")
@public
def ocds_publication_policy(variant: str) -> Any:
    """The publication policy every OCDS package of Ponte points to (English, Italian)."""
    name = "publication-policy.it.md" if variant == "it.md" else "publication-policy.md"
    content = (ocds.EXTENSION_DIR.parent / "policy" / name).read_bytes()
    return Response(content, mimetype="text/markdown; charset=utf-8")


#: The files of Ponte's social-clause extension, as published.
EXTENSION_FILES = {
    "extension.json": "application/json",
    "release-schema.json": "application/json",
    "README.md": "text/markdown; charset=utf-8",
    "README.it.md": "text/markdown; charset=utf-8",
    "codelists/socialClauseType.csv": "text/csv; charset=utf-8",
    "codelists/socialClauseMeasure.csv": "text/csv; charset=utf-8",
    "codelists/socialClauseBase.csv": "text/csv; charset=utf-8",
    "codelists/premiumMeasure.csv": "text/csv; charset=utf-8",
}


@bp.route("/ocds/extensions/social-clause/<version>/<path:name>")
@public
def ocds_extension_file(version: str, name: str) -> Any:
    """Ponte's OCDS extension at a stable URL, as the extension registry expects."""
    if version != ocds.EXTENSION_VERSION or name not in EXTENSION_FILES:
        abort(404)
    content = (ocds.EXTENSION_DIR / name).read_bytes()
    if name == "extension.json":
        meta = json.loads(content)
        meta["documentationUrl"] = {
            code: ocds.extension_url(doc) for code, doc in meta["documentationUrl"].items()
        }
        content = json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8")
    response = Response(content, mimetype=EXTENSION_FILES[name])
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


# --- Next steps on the roles' homes --------------------------------------------------------


def supplier_home_actions(user: Any) -> list[HomeAction]:
    """A cooperative's or social farm's next steps: tenders it may bid for, its profile."""
    orgs = services.supplier_orgs(user)
    if not orgs:
        return []
    eligible = services.eligible_tenders_for(orgs[0], today())
    return [
        HomeAction(
            _("Tenders you are eligible for"), url_for("tenders.supplier_dashboard"), len(eligible)
        ),
        HomeAction(_("Your supplier profile"), url_for("tenders.supplier_profile")),
        HomeAction(_("Workforce declarations"), url_for("tenders.supplier_declarations")),
    ]


def officer_home_actions(user: Any) -> list[HomeAction]:
    """A public officer's next steps: compliance reports to review, reports overdue (the
    dashboard's own buttons create and import tenders)."""
    bodies = services.officer_bodies(user)
    if not bodies:
        return []
    waiting = db.session.execute(
        select(func.count())
        .select_from(ComplianceReport)
        .join(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(Tender.buyer_org_id == bodies[0].id, ComplianceReport.status == SUBMITTED)
    ).scalar_one()
    overdue = len(services.overdue_reports(today(), buyer_ids=[bodies[0].id]))
    return [
        HomeAction(
            _("Compliance reports to review"),
            url_for("tenders.officer_dashboard", _anchor="waiting-title"),
            waiting,
        ),
        HomeAction(
            _("Compliance reports overdue"),
            url_for("tenders.officer_dashboard", _anchor="overdue-title"),
            overdue,
        ),
    ]


# --- Sitemap -------------------------------------------------------------------------------


def sitemap_rows() -> Any:
    """Every public tender (published, awarded or closed, of a verified buyer)."""
    return (
        select(Tender.id, Tender.updated_at)
        .join(Organisation, Organisation.id == Tender.buyer_org_id)
        .where(Tender.status.in_(PUBLIC_STATUSES), Organisation.verified_at.is_not(None))
    )


def sitemap_url(row: Any) -> str:
    return url_for("tenders.tender_detail", tender_id=row[0], _external=True)
