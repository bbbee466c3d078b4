"""Broker pages of the person's rights over their record: the access log and its export,
the export of all data (GDPR art. 15 and 20), erasure (art. 17), and consent: recording
it with the signed form, revoking it, downloading the form.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from brokerage import caseload, consents, data_rights
from brokerage.blueprint import bp, change, held, held_row, no_store, today, user
from brokerage.caseload_forms import ConsentForm, EraseForm, ExportForm, RevokeForm
from brokerage.errors import CaseloadError
from brokerage.models import CONSENT_PURPOSES, Consent
from portal import db, spreadsheets
from portal.models import BROKER
from portal.permissions import roles_required
from portal.uploads import accepts_upload
from portal.views import page_arg

ACTION_LABELS = {
    "candidate.create": _l("Record created"),
    "candidate.update": _l("Profile changed"),
    "candidate.sensitive_read": _l("Sensitive data read"),
    "candidate.sensitive_update": _l("Sensitive data changed"),
    "candidate.access_denied": _l("Access refused"),
    "candidate.export": _l("All data exported"),
    "candidate.erase": _l("Data erased"),
    "candidate.handover": _l("Case handed over to another service"),
    "candidate.access_log_export": _l("Access log exported"),
    "consent.record": _l("Consent recorded"),
    "consent.revoke": _l("Consent revoked"),
    "consent.document_download": _l("Signed consent form downloaded"),
    "pathway.stage": _l("Pathway stage recorded"),
    "pathway.stage_update": _l("Pathway stage changed"),
    "pathway.observation": _l("Lab observation recorded"),
    "proposal.create": _l("Proposed to an employer"),
    "proposal.withdraw": _l("Proposal withdrawn"),
}


@bp.route("/brokerage/candidates/<int:candidate_id>/access-log")
@roles_required(BROKER)
@no_store
def candidate_access_log(candidate_id: int) -> Any:
    """Every audit entry about the person: who, when, what, why (what they can be shown).
    ``?format=csv`` downloads it (the download itself is logged)."""
    candidate = held(candidate_id, "access_log")
    if request.args.get("format") == "csv":
        from portal import audit

        audit.record("candidate.access_log_export", candidate, subject=candidate)
        db.session.commit()
        out = io.StringIO()
        writer = spreadsheets.CsvWriter(out)
        writer.writerow([_("When"), _("Who"), _("What"), _("Reason")])
        for entry in db.session.execute(caseload.access_log_query(candidate.id)).scalars():
            writer.writerow(
                [
                    entry.at.isoformat(timespec="seconds"),
                    entry.actor.display_name if entry.actor else "",
                    str(ACTION_LABELS.get(entry.action, entry.action)),
                    entry.reason,
                ]
            )
        response = make_response(out.getvalue())
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = (
            f"attachment; filename=access-log-{candidate.pseudonym}.csv"
        )
        return response
    page = db.paginate(caseload.access_log_query(candidate.id), page_arg(), 50)
    return render_template(
        "brokerage/candidate_access_log.html", candidate=candidate, page=page, actions=ACTION_LABELS
    )


@bp.route("/brokerage/candidates/<int:candidate_id>/export", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_export(candidate_id: int) -> Any:
    candidate = held(candidate_id, "export")
    form = ExportForm()
    if form.validate_on_submit():
        with change(form) as done:
            data = data_rights.export_candidate(candidate, user(), form.reason.data or "")
        if done.ok:
            response = make_response(json.dumps(data, ensure_ascii=False, indent=2, default=str))
            response.headers["Content-Type"] = "application/json; charset=utf-8"
            response.headers["Content-Disposition"] = (
                f"attachment; filename=ponte-{candidate.pseudonym}.json"
            )
            return response
    return render_template("brokerage/candidate_export.html", candidate=candidate, form=form)


@bp.route("/brokerage/candidates/<int:candidate_id>/erase", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def candidate_erase(candidate_id: int) -> Any:
    candidate = held(candidate_id, "erase")
    form = EraseForm()
    if form.validate_on_submit():
        if (form.pseudonym.data or "").strip().upper() != candidate.pseudonym:
            form.pseudonym.errors = [_("Type the pseudonym exactly: %(p)s.", p=candidate.pseudonym)]
        else:
            with change(form) as done:
                data_rights.erase_candidate(candidate, user(), form.reason.data or "")
            if done.ok:
                flash(
                    _(
                        "The personal data of %(pseudonym)s have been erased.",
                        pseudonym=candidate.pseudonym,
                    ),
                    "success",
                )
                return redirect(url_for("brokerage.caseload"))
    return render_template("brokerage/candidate_erase.html", candidate=candidate, form=form)


# --- Consent -----------------------------------------------------------------------------


@bp.route("/brokerage/candidates/<int:candidate_id>/consents/new", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
@accepts_upload(consents.MAX_DOCUMENT_BYTES)
def consent_new(candidate_id: int) -> Any:
    candidate = held(candidate_id, "consent")
    form = ConsentForm()
    if request.method == "GET":
        form.given_on.data = today()
        form.expires_on.data = consents.add_years(today(), 2)
        if request.args.get("purpose") in CONSENT_PURPOSES:
            form.purpose.data = request.args["purpose"]
    if form.validate_on_submit():
        with change(form) as done:
            consent = consents.record_consent(
                candidate,
                user(),
                form.purpose.data,
                form.given_on.data,
                form.expires_on.data,
                today(),
            )
            # The file is kept only once the consent itself is valid: no orphan files.
            upload = form.document.data
            document = consents.store_document(upload.stream, upload.filename or "")
            consent.document_name, consent.document_sha256 = document.name, document.sha256
        if done.ok:
            flash(_("The consent has been recorded."), "success")
            return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
    return render_template("brokerage/consent_form.html", candidate=candidate, form=form)


@bp.route("/brokerage/consents/<int:consent_id>/revoke", methods=["GET", "POST"])
@roles_required(BROKER)
@no_store
def consent_revoke(consent_id: int) -> Any:
    consent, candidate = held_row(Consent, consent_id, "consent_revoke")
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            withdrawn = consents.revoke_consent(
                consent, user(), today(), reason=form.reason.data or ""
            )
        except CaseloadError as error:
            db.session.rollback()
            flash(" ".join(str(m) for m in error.fields.values()), "danger")
        else:
            db.session.commit()
            flash(_("The consent has been revoked."), "success")
            if withdrawn:
                flash(_("Open proposals withdrawn: %(num)d.", num=withdrawn), "info")
        return redirect(url_for("brokerage.candidate_detail", candidate_id=candidate.id))
    return render_template(
        "brokerage/consent_revoke.html",
        candidate=candidate,
        consent=consent,
        form=form,
        purposes=CONSENT_PURPOSES,
    )


@bp.route("/brokerage/consents/<int:consent_id>/document")
@roles_required(BROKER)
def consent_document(consent_id: int) -> Any:
    consent, candidate = held_row(Consent, consent_id, "consent_document")
    path = consents.document_path(consent)
    if path is None:
        abort(404)
    from portal import audit

    audit.record("consent.document_download", consent, subject=candidate)
    db.session.commit()
    response = send_file(
        path,
        mimetype=consents.document_mimetype(consent),
        as_attachment=True,
        download_name=consent.document_name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- Pathway -----------------------------------------------------------------------------
