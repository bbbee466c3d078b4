"""Pages of social-clause tenders: public list, detail and transparency; the officer's
tenders, import, eligible suppliers, awards and reviews; the supplier's profile,
declarations, eligible tenders and compliance reports."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from brokerage.tenders import cpv, evidence, ocds, services
from brokerage.tenders.forms import (
    AwardForm,
    DeclarationForm,
    ImportForm,
    ProfileForm,
    ReportForm,
    ReviewForm,
    TenderForm,
    premium_measures,
)
from brokerage.tenders.models import (
    ART4_CATEGORIES,
    BASES,
    CLAUSE_TYPES,
    DRAFT,
    PUBLIC_STATUSES,
    SUBMITTED,
    ComplianceReport,
    Contract,
    EvidenceDocument,
    SupplierProfile,
    Tender,
    TenderLot,
    WorkforceDeclaration,
    shown_percent,
)
from brokerage.tenders.services import (
    SUPPLIER_KINDS,
    SUPPLIER_ROLES,
    AwardData,
    DeclarationData,
    ProfileData,
    ReportData,
    TenderData,
    TenderError,
)
from portal import audit, concurrency, db, municipalities, search
from portal.db import Page, utcnow
from portal.forms import ConfirmForm
from portal.layout import HomeAction
from portal.models import PUBLIC_BODY, PUBLIC_OFFICER, Organisation
from portal.network import documents
from portal.permissions import login_required, public, require, roles_required
from portal.uploads import MB, accepts_upload
from portal.views import page_arg

bp = Blueprint("tenders", __name__, template_folder="templates")
ROME = ZoneInfo("Europe/Rome")


def today() -> date:
    return utcnow().date()


def lang() -> str:
    return "en" if str(get_locale() or "it").startswith("en") else "it"


def per_page() -> int:
    return int(current_app.config["PER_PAGE"])


def list_page(items: list[Any]) -> Page:
    """Paginate a list computed in Python (rankings, overdue periods)."""
    size = per_page()
    page = page_arg()
    return Page(
        items=items[(page - 1) * size : page * size], total=len(items), page=page, per_page=size
    )


def show_errors(form: Any, error: TenderError, default: str) -> None:
    aliases = {
        "comune": "comune",
        "supplier": "supplier",
        "contract": default,
        "status": default,
        "provinces": "provinces",
        "regions": "regions",
    }
    for name, message in error.fields.items():
        target = getattr(form, aliases.get(name, name), None) or getattr(form, default)
        target.errors = [*(target.errors or []), message]


def checked_upload(field: Any) -> tuple[bool, evidence.Upload | None]:
    """The PDF chosen in ``field`` (None: none chosen); False with the error next to the
    field when the file is refused."""
    try:
        return True, evidence.read_upload(field.data)
    except evidence.DocumentError as error:
        field.errors = [*(field.errors or []), str(error)]
        return False, None


def load_tender(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None or not services.can_see_tender(current_user, tender):
        abort(404)
    return tender


def owned_tender(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None:
        abort(404)
    require(services.can_edit(current_user, tender))
    return tender


def my_body() -> Organisation:
    bodies = services.officer_bodies(current_user)
    if not bodies:
        abort(403)
    return bodies[0]


def my_supplier() -> Organisation:
    orgs = services.supplier_orgs(current_user)
    if not orgs:
        abort(403)
    return orgs[0]


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
    )
    if clause:
        stmt = stmt.where(Tender.clause_type == clause)
    if q:
        hits = search.query(q, doc_types=["tender"], per_page=1000).hits
        stmt = stmt.where(Tender.id.in_([int(h.doc_id) for h in hits]))
    stmt = stmt.order_by(Tender.published_at.desc(), Tender.id.desc())
    page = db.paginate(stmt, page_arg(), per_page())
    return render_template(
        "tenders/tender_list.html", page=page, q=q, clause=clause, clause_types=CLAUSE_TYPES
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


# --- Officers ----------------------------------------------------------------------------------


def _local(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=ROME) if value is not None and value.tzinfo is None else value


#: Empty lot rows offered below the tender's lots (more after each save).
BLANK_LOTS = 2


def lot_data(form: TenderForm, tender: Tender | None) -> list[services.LotData]:
    """The lots of the form, in order: a lot ticked "remove" and an empty new row are
    dropped; a lot keeps its id and what the form does not edit (an imported lot's
    description and currency); a new lot takes the next number no lot of the tender has
    had."""
    existing = {lot.lot_id: lot for lot in tender.lots} if tender is not None else {}
    currency = (form.value_currency.data or "EUR").strip().upper()
    used: set[str] = set()
    rows: list[tuple[Any, TenderLot | None]] = []
    for entry in form.lots:
        row = entry.form
        if row.is_empty() or (row.remove.data and not row.is_new):
            continue
        old = existing.get(row.lot_id.data or "")
        if old is not None and old.lot_id in used:
            old = None  # a tampered form naming one lot twice: the second is a new lot
        if old is not None:
            used.add(old.lot_id)
        rows.append((row, old))
    numbers = (str(n) for n in itertools.count(1) if str(n) not in existing)
    return [
        services.LotData(
            lot_id=old.lot_id if old is not None else next(numbers),
            title=(row.title.data or "").strip(),
            description=old.description if old is not None else "",
            value_amount=row.value_amount.data,
            value_currency=old.value_currency if old is not None else currency,
            reserved_participation=row.reserved_participation.data or "none",
            reserved_execution=bool(row.reserved_execution.data),
        )
        for row, old in rows
    ]


def offer_blank_lots(form: TenderForm) -> TenderForm:
    """Empty rows after the lots, for new ones (no script needed)."""
    blank = sum(1 for entry in form.lots if entry.form.is_empty())
    for _row in range(BLANK_LOTS - blank):
        form.lots.append_entry()
    return form


def tender_data(form: TenderForm, tender: Tender | None = None) -> TenderData:
    return TenderData(
        title=form.title.data or "",
        description=form.description.data or "",
        main_category=form.main_category.data,
        value_amount=form.value_amount.data,
        value_currency=(form.value_currency.data or "").strip().upper(),
        comune_code=form.comune.data or None,
        deadline=_local(form.deadline.data),
        contract_start=form.contract_start.data,
        contract_end=form.contract_end.data,
        clause_type=form.clause_type.data,
        threshold=form.threshold.data,
        reserved_participation=form.reserved_participation.data,
        reserved_execution=bool(form.reserved_execution.data),
        social_standards=form.social_standards.data or "",
        clause_measure=form.clause_measure.data or None,
        clause_target=form.clause_target.data,
        clause_base=form.clause_base.data or None,
        premium_measures=list(form.premium_measures.data or []),
        cpv_codes=services.parse_code_list(form.cpv_codes.data or ""),
        lots=lot_data(form, tender),
    )


def save_tender_form(
    form: TenderForm, tender: Tender | None, current_form: Any = None
) -> Tender | None:
    if not form.validate_on_submit():
        return None
    stale = tender is not None and current_form is not None
    if stale and not concurrency.unchanged_since(form, tender, current_form):
        return None
    data = tender_data(form, tender)
    try:
        if tender is None:
            tender = services.create_tender(my_body(), current_user, data)
        else:
            services.update_tender(tender, current_user, data)
    except TenderError as error:
        db.session.rollback()
        show_errors(form, error, "title")
        return None
    db.session.commit()
    for warning in services.tender_warnings(tender):
        flash(warning, "warning")
    return tender


@bp.route("/tenders/new", methods=["GET", "POST"])
@roles_required(PUBLIC_OFFICER)
def tender_new() -> Any:
    body = my_body()
    form = TenderForm()
    if request.method == "GET" and body.municipality:
        form.comune.data = body.municipality.label
    tender = save_tender_form(form, None)
    if tender is not None:
        flash(_("The tender has been saved as a draft."), "success")
        return redirect(url_for("tenders.tender_detail", tender_id=tender.id))
    return render_template(
        "tenders/tender_form.html", form=offer_blank_lots(form), tender=None, body=body
    )


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@roles_required(PUBLIC_OFFICER)
def tender_edit(tender_id: int) -> Any:
    tender = owned_tender(tender_id)

    def build(**kwargs: Any) -> TenderForm:
        form = TenderForm(obj=tender, **kwargs)
        if request.method == "GET" or kwargs:
            form.comune.data = tender.municipality.label if tender.municipality else ""
            form.cpv_codes.data = ", ".join(tender.cpv_codes)
            form.premium_measures.data = list(tender.premium_measures)
            form.deadline.data = (
                tender.deadline.astimezone(ROME).replace(tzinfo=None) if tender.deadline else None
            )
        return form

    form = concurrency.edit_form(build, tender)
    saved = save_tender_form(form, tender, lambda: build(formdata=None))
    if saved is not None:
        flash(_("The tender has been saved."), "success")
        return redirect(url_for("tenders.tender_detail", tender_id=tender.id))
    return render_template(
        "tenders/tender_form.html", form=offer_blank_lots(form), tender=tender, body=tender.buyer
    ), concurrency.status()


@bp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@roles_required(PUBLIC_OFFICER)
def tender_publish(tender_id: int) -> Any:
    tender = owned_tender(tender_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        told = services.publish(tender, current_user, today())
    except TenderError as error:
        db.session.rollback()
        for message in error.fields.values():
            flash(message, "danger")
    else:
        db.session.commit()
        flash(
            ngettext(
                "The tender is published; %(num)d eligible supplier has been told.",
                "The tender is published; %(num)d eligible suppliers have been told.",
                told,
            ),
            "success",
        )
    return redirect(url_for("tenders.tender_detail", tender_id=tender.id))


@bp.route("/tenders/import", methods=["GET", "POST"])
@roles_required(PUBLIC_OFFICER)
@accepts_upload(20 * MB)
def tender_import() -> Any:
    body = my_body()
    form = ImportForm()
    report = problems = None
    if form.validate_on_submit():
        upload = form.package.data
        if (
            upload
            and getattr(upload, "filename", "")
            and request.accept_mimetypes.best == "application/x-ndjson"
        ):
            return _streamed_import(form, upload, body)
        try:
            if upload and getattr(upload, "filename", ""):
                # Streamed: the upload is read a release at a time, never whole.
                report = ocds.import_stream(upload.stream, body, current_user, today())
            elif form.text.data:
                report = ocds.import_bytes(form.text.data, body, current_user, today())
            else:
                form.package.errors = [_("Choose a file or paste the JSON.")]
        except ocds.ImportRejected as rejected:
            db.session.rollback()
            problems = rejected.problems
        else:
            if report is not None:
                db.session.commit()
                flash(
                    _(
                        "Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.",
                        created=len(report.created),
                        updated=len(report.updated),
                        unchanged=len(report.unchanged),
                    ),
                    "success",
                )
    status = 422 if problems else 200
    return render_template(
        "tenders/import.html", form=form, report=report, problems=problems, body=body
    ), status


def _streamed_import(form: ImportForm, upload: Any, body: Organisation) -> Any:
    """The import page's script asks for this: one JSON line per batch written (how far
    into the file the import is), then the page with the report. A large file shows its
    progress while it is imported, not only while it is uploaded."""
    # The request's files are closed when the view returns: the import reads its own copy
    # (on disk past 1 MB, so memory stays bounded).
    stream = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (closed below)
    shutil.copyfileobj(upload.stream, stream, 1024 * 1024)
    total = stream.tell()
    stream.seek(0)
    user = current_user._get_current_object()

    def generate() -> Any:
        report = problems = None
        try:
            for step in ocds.import_steps(stream, body, user, today()):
                if isinstance(step, int):
                    yield json.dumps({"done": step, "total": total}) + "\n"
                else:
                    report = step
            db.session.commit()
        except ocds.ImportRejected as rejected:
            db.session.rollback()
            problems = rejected.problems
        finally:
            stream.close()
        page = render_template(
            "tenders/import.html", form=form, report=report, problems=problems, body=body
        )
        yield json.dumps({"html": page}) + "\n"

    return Response(stream_with_context(generate()), mimetype="application/x-ndjson")


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


@bp.route("/tenders/<int:tender_id>/suppliers")
@roles_required(PUBLIC_OFFICER)
def tender_suppliers(tender_id: int) -> Any:
    tender = load_tender(tender_id)
    include_all = request.args.get("all") == "1"
    ranked = services.rank(tender, today(), include_ineligible=include_all)
    page = list_page(ranked)
    page.items = services.explain(tender, page.items, today())
    return render_template(
        "tenders/suppliers.html",
        tender=tender,
        page=page,
        include_all=include_all,
        criteria_labels=criteria_labels(),
        editor=services.can_edit(current_user, tender),
    )


def criteria_labels() -> dict[str, str]:
    return {
        "kind": _("Type of organisation"),
        "register": _("Register enrolment"),
        "share": _("Disabled or disadvantaged workers"),
        "cpv": _("CPV capability"),
        "territory": _("Territory"),
        "record": _("Compliance record"),
    }


@bp.route("/tenders/<int:tender_id>/award", methods=["GET", "POST"])
@roles_required(PUBLIC_OFFICER)
def tender_award(tender_id: int) -> Any:
    tender = owned_tender(tender_id)
    form = AwardForm()
    ranked = services.rank(tender, today())
    eligible_ids = [r.supplier.org_id for r in ranked]
    others = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(
            Organisation.kind.in_(SUPPLIER_KINDS),
            Organisation.verified_at.is_not(None),
            Organisation.id.not_in(eligible_ids) if eligible_ids else True,
        )
        .order_by(Organisation.name)
        .limit(500)
    ).all()
    form.supplier.choices = [
        (
            r.supplier.org_id,
            _(
                "%(name)s (eligible, fit %(score)s)",
                name=r.supplier.name,
                score=format_decimal(r.score),
            ),
        )
        for r in ranked
    ] + [(o.id, o.name) for o in others]
    if request.method == "GET":
        form.value_amount.data = tender.value_amount
        form.value_currency.data = tender.value_currency
        form.start_date.data = tender.contract_start
        form.end_date.data = tender.contract_end
    if form.validate_on_submit():
        try:
            contract = services.award(
                tender,
                current_user,
                AwardData(
                    supplier_org_id=form.supplier.data,
                    value_amount=form.value_amount.data,
                    value_currency=(form.value_currency.data or "").strip().upper(),
                    start_date=form.start_date.data,
                    end_date=form.end_date.data,
                    report_every_months=form.report_every_months.data or 3,
                ),
                today(),
            )
        except TenderError as error:
            db.session.rollback()
            show_errors(form, error, "supplier")
        else:
            db.session.commit()
            flash(_("The award has been recorded."), "success")
            return redirect(url_for("tenders.contract_detail", contract_id=contract.id))
    return render_template("tenders/award.html", form=form, tender=tender)


def load_contract(contract_id: int) -> tuple[Contract, bool, bool]:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404)
    officer = services.can_edit(current_user, contract.tender)
    supplier = services.holds_contract(current_user, contract)
    if not (officer or supplier):
        abort(404)  # a supplier sees only its own contracts and reports
    return contract, officer, supplier


@bp.route("/tenders/contracts/<int:contract_id>")
@login_required
def contract_detail(contract_id: int) -> Any:
    contract, officer, supplier = load_contract(contract_id)
    return render_template(
        "tenders/contract.html",
        contract=contract,
        tender=contract.tender,
        officer=officer,
        supplier=supplier,
        summary=services.summarise(contract, today()),
        overdue=services.overdue_periods(contract, today()),
        open_periods=services.open_periods(contract, today()),
        review_form=ReviewForm(),
        shown_percent=shown_percent,
    )


@bp.route("/tenders/reports/<int:report_id>/review", methods=["POST"])
@roles_required(PUBLIC_OFFICER)
def report_review(report_id: int) -> Any:
    report = db.session.get(ComplianceReport, report_id)
    if report is None:
        abort(404)
    require(services.can_edit(current_user, report.contract.tender))
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("Choose accept or flag."), "danger")
    else:
        try:
            services.review(report, current_user, form.decision.data, form.comment.data or "")
        except TenderError as error:
            db.session.rollback()
            for message in error.fields.values():
                flash(message, "danger")
        else:
            db.session.commit()
            flash(_("The review has been saved."), "success")
    return redirect(url_for("tenders.contract_detail", contract_id=report.contract_id))


@bp.route("/tenders/officer")
@roles_required(PUBLIC_OFFICER)
def officer_dashboard() -> Any:
    body = my_body()
    tenders = db.paginate(
        select(Tender)
        .where(Tender.buyer_org_id == body.id)
        .order_by(Tender.updated_at.desc(), Tender.id.desc()),
        page_arg(),
        per_page(),
    )
    overdue = services.overdue_reports(today(), buyer_ids=[body.id])
    waiting = (
        db.session.execute(
            select(ComplianceReport)
            .join(Contract)
            .join(Tender, Tender.id == Contract.tender_id)
            .where(Tender.buyer_org_id == body.id, ComplianceReport.status == SUBMITTED)
            .order_by(ComplianceReport.filed_at)
            .limit(50)
        )
        .scalars()
        .all()
    )
    return render_template(
        "tenders/officer.html",
        body=body,
        tenders=tenders,
        overdue=overdue[:50],
        overdue_total=len(overdue),
        waiting=waiting,
    )


# --- Suppliers ---------------------------------------------------------------------------------


@bp.route("/tenders/supplier")
@roles_required(*SUPPLIER_ROLES)
def supplier_dashboard() -> Any:
    org = my_supplier()
    profile = db.session.get(SupplierProfile, org.id)
    eligible = services.eligible_tenders_for(org, today())
    contracts = (
        db.session.execute(
            select(Contract)
            .where(Contract.supplier_org_id == org.id)
            .order_by(Contract.end_date.desc())
        )
        .scalars()
        .all()
    )
    declaration = db.session.execute(
        select(WorkforceDeclaration)
        .where(WorkforceDeclaration.organisation_id == org.id)
        .order_by(WorkforceDeclaration.year.desc())
        .limit(1)
    ).scalar_one_or_none()
    return render_template(
        "tenders/supplier.html",
        org=org,
        profile=profile,
        page=list_page(eligible),
        contracts=[services.summarise(c, today()) for c in contracts],
        declaration=declaration,
        overdue=services.overdue_reports(today(), supplier_ids=[org.id]),
        shown_percent=shown_percent,
        register_current=profile is not None and profile.register_current(today()),
    )


@bp.route("/tenders/supplier/profile", methods=["GET", "POST"])
@roles_required(*SUPPLIER_ROLES)
@accepts_upload(documents.MAX_BYTES)
def supplier_profile() -> Any:
    org = my_supplier()
    profile = db.session.get(SupplierProfile, org.id)
    form = ProfileForm(obj=profile)
    form.regions.choices = [(r, r) for r in municipalities.regions()]
    if request.method == "GET" and profile is not None:
        form.cpv_codes.data = ", ".join(c.cpv_code for c in profile.capabilities)
        form.provinces.data = ", ".join(
            t.value for t in profile.territories if t.scope == "province"
        )
        form.regions.data = [t.value for t in profile.territories if t.scope == "region"]
    if form.validate_on_submit() and (upload := checked_upload(form.register_file))[0]:
        try:
            services.save_profile(
                org,
                current_user,
                ProfileData(
                    cpv_codes=services.parse_code_list(form.cpv_codes.data or ""),
                    provinces=services.parse_code_list(form.provinces.data or ""),
                    regions=list(form.regions.data or []),
                    register_enrolled_on=form.register_enrolled_on.data,
                    register_valid_until=form.register_valid_until.data,
                    register_evidence=form.register_evidence.data or "",
                    max_contract_value=form.max_contract_value.data,
                ),
            )
            if upload[1] is not None:
                evidence.attach(upload[1], org, current_user)
        except TenderError as error:
            db.session.rollback()
            show_errors(form, error, "cpv_codes")
        else:
            db.session.commit()
            flash(_("Your supplier profile has been saved."), "success")
            return redirect(url_for("tenders.supplier_dashboard"))
    return render_template(
        "tenders/profile.html",
        form=form,
        org=org,
        profile=profile,
        documents=evidence.register_documents(org),
        cpv_label=lambda c: cpv.label(c, lang()),
    )


@bp.route("/tenders/supplier/declarations", methods=["GET", "POST"])
@roles_required(*SUPPLIER_ROLES)
@accepts_upload(documents.MAX_BYTES)
def supplier_declarations() -> Any:
    org = my_supplier()
    form = DeclarationForm()
    if request.method == "GET":
        form.year.data = today().year - 1
    if form.validate_on_submit() and (upload := checked_upload(form.evidence_file))[0]:
        try:
            declaration = services.save_declaration(
                org,
                current_user,
                DeclarationData(
                    year=form.year.data,
                    evidence=form.evidence.data or "",
                    **{
                        name: getattr(form, name).data
                        if getattr(form, name).data is not None
                        else (None if name == "total_workers" else Decimal(0))
                        for name in services.DECLARATION_FIELDS
                    },
                ),
                today(),
            )
            if upload[1] is not None:
                evidence.attach(upload[1], org, current_user, declaration=declaration)
        except TenderError as error:
            db.session.rollback()
            show_errors(form, error, "total_workers")
        else:
            db.session.commit()
            flash(_("The workforce declaration has been saved."), "success")
            return redirect(url_for("tenders.supplier_declarations"))
    declarations = db.paginate(
        select(WorkforceDeclaration)
        .where(WorkforceDeclaration.organisation_id == org.id)
        .order_by(WorkforceDeclaration.year.desc()),
        page_arg(),
        per_page(),
    )
    return render_template(
        "tenders/declarations.html",
        form=form,
        org=org,
        page=declarations,
        categories=ART4_CATEGORIES,
        shown_percent=shown_percent,
    )


@bp.route("/tenders/contracts/<int:contract_id>/report", methods=["GET", "POST"])
@roles_required(*SUPPLIER_ROLES)
@accepts_upload(documents.MAX_BYTES)
def report_new(contract_id: int) -> Any:
    contract = db.session.get(Contract, contract_id)
    if contract is None or not services.holds_contract(current_user, contract):
        abort(404)  # a supplier cannot file for a contract it does not hold
    form = ReportForm()
    choices = services.open_periods(contract, today())
    form.period_start.choices = [
        (s.isoformat(), f"{s.isoformat()} – {e.isoformat()}") for s, e in choices
    ]
    if form.validate_on_submit() and (upload := checked_upload(form.evidence_file))[0]:
        try:
            start = date.fromisoformat(form.period_start.data or "")
        except ValueError:
            start = None
        try:
            report = services.file_report(
                contract,
                current_user,
                ReportData(
                    period_start=start,
                    workers_total=form.workers_total.data,
                    workers_disadvantaged=form.workers_disadvantaged.data or 0,
                    workers_disabled=form.workers_disabled.data or 0,
                    hours_total=form.hours_total.data or Decimal(0),
                    hours_disadvantaged=form.hours_disadvantaged.data or Decimal(0),
                    new_hires_total=form.new_hires_total.data or 0,
                    new_hires_disadvantaged=form.new_hires_disadvantaged.data or 0,
                    new_hires_from_caseload=form.new_hires_from_caseload.data or 0,
                    evidence=form.evidence.data or "",
                ),
                today(),
            )
            if upload[1] is not None:
                evidence.attach(upload[1], contract.supplier, current_user, report=report)
        except TenderError as error:
            db.session.rollback()
            show_errors(form, error, "period_start")
        else:
            db.session.commit()
            flash(_("The compliance report has been filed."), "success")
            return redirect(url_for("tenders.contract_detail", contract_id=contract.id))
    return render_template(
        "tenders/report_form.html",
        form=form,
        contract=contract,
        tender=contract.tender,
        has_periods=bool(choices),
    )


@bp.route("/tenders/evidence/<int:document_id>")
@login_required
def evidence_document(document_id: int) -> Any:
    """An evidence PDF, to the supplier's people, the buyer's officers (a report's) and
    administrators only; every read is audited (it may hold personal data)."""
    document = db.session.get(EvidenceDocument, document_id)
    if document is None or not evidence.can_read(current_user, document):
        abort(404)
    path = evidence.path_of(document)
    if path is None:
        abort(404)
    audit.record("tender.evidence.read", document, actor=current_user)
    db.session.commit()
    response = send_file(
        path, mimetype="application/pdf", as_attachment=False, download_name=document.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
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
