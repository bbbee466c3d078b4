"""The supplier's pages of tenders (type-B cooperatives and social farms): the dashboard
of eligible tenders and overdue reports, the supplier profile, the yearly workforce
declarations (L. 381/1991 art. 4) and compliance reports with their evidence.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from brokerage.tenders import cpv, evidence, services
from brokerage.tenders.blueprint import (
    bp,
    checked_upload,
    lang,
    list_page,
    my_supplier,
    per_page,
    show_errors,
    today,
)
from brokerage.tenders.forms import DeclarationForm, ProfileForm, ReportForm
from brokerage.tenders.models import (
    ART4_CATEGORIES,
    Contract,
    EvidenceDocument,
    SupplierProfile,
    WorkforceDeclaration,
    shown_percent,
)
from brokerage.tenders.services import (
    SUPPLIER_ROLES,
    DeclarationData,
    ProfileData,
    ReportData,
    TenderError,
)
from portal import audit, db, municipalities
from portal.network import documents
from portal.permissions import login_required, roles_required
from portal.uploads import accepts_upload
from portal.views import page_arg

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
