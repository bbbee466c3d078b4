"""The public officer's pages of tenders: creating and editing a tender with its lots,
publishing it, importing OCDS data (pasted or streamed from a file), the eligible
suppliers, awarding a contract, a contract's reports and their review, the officer's
dashboard.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from datetime import datetime
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from brokerage.tenders import ocds, services
from brokerage.tenders.blueprint import (
    ROME,
    bp,
    criteria_labels,
    list_page,
    load_tender,
    my_body,
    owned_tender,
    per_page,
    show_errors,
    today,
)
from brokerage.tenders.forms import AwardForm, ImportForm, ReviewForm, TenderForm
from brokerage.tenders.models import (
    SUBMITTED,
    ComplianceReport,
    Contract,
    Tender,
    TenderLot,
    shown_percent,
)
from brokerage.tenders.services import SUPPLIER_KINDS, AwardData, TenderData, TenderError
from portal import concurrency, db
from portal.forms import ConfirmForm
from portal.models import PUBLIC_OFFICER, Organisation
from portal.permissions import login_required, require, roles_required
from portal.uploads import MB, accepts_upload
from portal.views import page_arg

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
