"""PDF documents attached to a good practice or an agreement: upload, download
(sandboxed, never sniffed) and removal, checked against the owner's rights; storage and
limits are portal.network.documents."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit, db
from portal.network import documents, services
from portal.network.forms import DocumentForm
from portal.network.models import Document
from portal.network.views.agreements import agreement_or_404
from portal.network.views.base import acting_user, bp
from portal.network.views.practices import practice_or_404
from portal.permissions import login_required, public, require
from portal.uploads import accepts_upload


def _upload(owner_field: str, owner: Any, redirect_to: str) -> Any:
    form = DocumentForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a PDF file to attach."), "danger")
        return redirect(redirect_to)
    try:
        data = documents.read_limited(upload.stream)
        document = documents.store(data, upload.filename, form.title.data or "", acting_user())
    except documents.DocumentError as error:
        flash(str(error), "danger")
        return redirect(redirect_to)
    setattr(document, owner_field, owner.id)
    db.session.add(document)
    db.session.flush()
    audit.record("document.upload", document, sha256=document.sha256, size=document.size)
    db.session.commit()
    flash(_("The document has been attached."), "success")
    return redirect(redirect_to)


def _send_document(document: Document) -> Any:
    path = documents.path_of(document)
    if path is None:
        abort(404)
    response = send_file(
        path,
        mimetype="application/pdf",
        as_attachment=False,
        download_name=document.filename,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@bp.route("/good-practices/<int:practice_id>/documents", methods=["POST"])
@login_required
@accepts_upload(documents.MAX_BYTES)
def practice_document_upload(practice_id: int) -> Any:
    practice = practice_or_404(practice_id)
    require(services.can_edit_practice(current_user, practice))
    return _upload(
        "practice_id", practice, url_for("network.practice_edit", practice_id=practice.id)
    )


def _document_of(document_id: int, **owner: int) -> Document:
    """The document if it belongs to the given practice or agreement; 404 otherwise."""
    document = db.session.get(Document, document_id)
    ((field, owner_id),) = owner.items()
    if document is None or getattr(document, field) != owner_id:
        abort(404)
    return document


def _delete_document(document: Document, back: str) -> Any:
    db.session.delete(document)
    audit.record("document.delete", document)
    db.session.commit()
    documents.delete_file(document)
    flash(_("The document has been removed."), "info")
    return redirect(back)


@bp.route("/good-practices/<int:practice_id>/documents/<int:document_id>")
@public
def practice_document(practice_id: int, document_id: int) -> Any:
    practice = practice_or_404(practice_id)
    return _send_document(_document_of(document_id, practice_id=practice.id))


@bp.route("/good-practices/<int:practice_id>/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def practice_document_delete(practice_id: int, document_id: int) -> Any:
    practice = practice_or_404(practice_id)
    require(services.can_edit_practice(current_user, practice))
    return _delete_document(
        _document_of(document_id, practice_id=practice.id),
        url_for("network.practice_edit", practice_id=practice.id),
    )


@bp.route("/agreements/<int:agreement_id>/documents", methods=["POST"])
@login_required
@accepts_upload(documents.MAX_BYTES)
def agreement_document_upload(agreement_id: int) -> Any:
    agreement = agreement_or_404(agreement_id)
    require(services.can_manage_agreement(current_user, agreement))
    return _upload(
        "agreement_id",
        agreement,
        url_for("network.agreement_detail", agreement_id=agreement.id),
    )


@bp.route("/agreements/<int:agreement_id>/documents/<int:document_id>")
@public
def agreement_document(agreement_id: int, document_id: int) -> Any:
    agreement = agreement_or_404(agreement_id)
    return _send_document(_document_of(document_id, agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def agreement_document_delete(agreement_id: int, document_id: int) -> Any:
    agreement = agreement_or_404(agreement_id)
    require(services.can_manage_agreement(current_user, agreement))
    return _delete_document(
        _document_of(document_id, agreement_id=agreement.id),
        url_for("network.agreement_detail", agreement_id=agreement.id),
    )
