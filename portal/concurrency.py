"""No lost updates: optimistic concurrency for every record people edit.

An editable record carries a ``version`` column that SQLAlchemy checks and increments on
every ORM UPDATE (``version_id_col``): a flush based on an old version fails instead of
overwriting. Edit forms carry two hidden fields: the version they were opened at and a
signed *snapshot* of the values they showed. A save whose version is stale is not written:

- fields the user did not touch but somebody else changed take the current value;
- fields that both changed keep the user's value, marked with the value saved meanwhile;
- the user sees the current values beside theirs and confirms by saving again (the form
  now carries the current version).

A stale version whose change touched none of the form's fields (a status transition, a
job) is harmless and saves at once. The API has the same rule with ``ETag``/``If-Match``
(RFC 9110 §13.1.1): 412 when the version is old, 428 when an update does not say which
version it is based on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, g, request
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Integer, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from wtforms import BooleanField, Field, FileField, HiddenField, SubmitField
from wtforms.fields.choices import SelectFieldBase

from portal import db
from portal.json_errors import ApiError

SKIPPED_FIELDS = ("csrf_token", "version", "snapshot")


class Versioned:
    """Mixin for an editable model: an integer version checked on every ORM UPDATE."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class VersionedForm:
    """Mixin for an edit form: the version and the values it was opened with."""

    version = HiddenField()
    snapshot = HiddenField()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="ponte.form-snapshot")


def _plain(value: Any) -> Any:
    """A field's value in a form that compares equal when it means the same."""
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple | set):
        return sorted(str(_plain(v)) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).strip().replace("\r\n", "\n")


def editable_fields(form: Any) -> Iterable[Field]:
    for f in form:
        if f.name in SKIPPED_FIELDS or isinstance(f, SubmitField | FileField | HiddenField):
            continue
        yield f


def values(form: Any) -> dict[str, Any]:
    return {f.name: _comparable(f) for f in editable_fields(form)}


def _comparable(f: Field) -> Any:
    own = getattr(f, "comparable_value", None)
    return _plain(own() if callable(own) else f.data)


def stamp(form: Any, record: Any) -> None:
    """Write the record's version and the form's current values into its hidden fields."""
    form.version.data = "" if record.version is None else str(record.version)
    form.snapshot.data = _serializer().dumps(values(form))


def stamp_version(form: Any, record: Any) -> None:
    """After a refused save: the form now stands for the record as it is, keeping what the
    user typed (their next save is a confirmation)."""
    opened = opened_values(form) or {}
    form.version.data = str(record.version)
    form.snapshot.data = _serializer().dumps({**opened, **_current_of(record, form)})


def _current_of(record: Any, form: Any) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(record, f.name))
        for f in editable_fields(form)
        if hasattr(record, f.name)
    }


def opened_values(form: Any) -> dict[str, Any] | None:
    """The values the form showed when it was opened, or None without a valid snapshot."""
    try:
        return _serializer().loads(form.snapshot.data or "")
    except BadSignature:
        return None


def changed_by_user(form: Any, name: str) -> bool:
    """Whether the user changed this field (True when it cannot be known)."""
    opened = opened_values(form)
    return opened is None or opened.get(name) != _comparable(form[name])


def _shown(f: Field) -> str:
    """What a value looks like to a person (choice labels, Yes/No), for the conflict table."""
    data = f.data
    if isinstance(f, BooleanField):
        return _("Yes") if data else _("No")
    if isinstance(f, SelectFieldBase):
        chosen = {str(v) for v in data} if isinstance(data, list | tuple) else {str(data)}
        labels = [str(label) for value, label, *_rest in _choices(f) if str(value) in chosen]
        if labels:
            return ", ".join(labels)
    if data is None or data == "" or data == []:
        return "—"
    if isinstance(data, Decimal):
        return format_decimal(data, format="#,##0.00###")
    if isinstance(data, datetime):
        return format_datetime(data, "short")
    if isinstance(data, date):
        return format_date(data, "short")
    if isinstance(data, list | tuple):
        return ", ".join(str(v) for v in data)
    return str(data)


def _choices(f: SelectFieldBase) -> list[tuple[Any, ...]]:
    try:
        return [tuple(c) for c in f.iter_choices()]
    except (TypeError, ValueError):
        return []


@dataclass
class ChangedField:
    name: str
    label: str
    yours: str
    current: str
    #: Both the user and somebody else changed it: the user must choose.
    clash: bool


@dataclass
class Conflict:
    """A save refused because the record changed since the form was opened."""

    fields: list[ChangedField] = field(default_factory=list)

    @property
    def clashes(self) -> list[ChangedField]:
        return [f for f in self.fields if f.clash]


def submitted_version(form: Any) -> int | None:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        return None


def lock(record: Any) -> None:
    """Reload the record under a row lock (PostgreSQL; SQLite serialises writers anyway),
    so that the version compared is the one the UPDATE will be checked against."""
    mapper = sa_inspect(type(record))
    key = [
        column == value
        for column, value in zip(
            mapper.primary_key, mapper.primary_key_from_instance(record), strict=True
        )
    ]
    # The lock on the row alone (FOR UPDATE cannot reach the outer joins of eager loads),
    # then the record read again under it.
    db.session.execute(select(*mapper.primary_key).where(*key).with_for_update())
    db.session.refresh(record)


def unchanged_since(form: Any, record: Any, current_form: Callable[[], Any]) -> bool:
    """True when the form may be saved over ``record``. Otherwise the form is rewritten
    for the user's confirmation (see the module docstring), ``g.edit_conflict`` describes
    the differences for the layout, and nothing must be written.

    ``current_form`` builds the same form filled from the record as the edit page shows
    it (``formdata=None``), so that both sides are compared field by field."""
    if sa_inspect(record).persistent is False:
        return True  # a record being created (a first profile): nobody else has it yet
    version = submitted_version(form)
    if version is None:
        # Every edit page sends its version; a post without one is not from the page (a
        # script posting the fields directly), and is saved as it says.
        return True
    lock(record)
    if version == record.version:
        return True
    opened = opened_values(form)
    fresh = current_form()
    now = values(fresh)
    mine = values(form)
    if opened is not None:
        changed_between = {name for name, value in now.items() if opened.get(name) != value}
        if not changed_between:
            return True  # a change that touched nothing this form shows (a job, a transition)
    else:  # no trustworthy snapshot: every difference is one to look at
        changed_between = {name for name, value in now.items() if mine.get(name) != value}
    conflict = Conflict()
    for f in editable_fields(form):
        if f.name not in changed_between:
            continue
        theirs = fresh[f.name]
        user_changed = opened is None or mine.get(f.name) != opened.get(f.name)
        if user_changed and mine.get(f.name) != now.get(f.name):
            conflict.fields.append(
                ChangedField(f.name, str(f.label.text), _shown(f), _shown(theirs), True)
            )
            f.errors = [
                *(f.errors or []),
                _("Saved meanwhile by someone else as: %(value)s", value=_shown(theirs)),
            ]
        else:
            yours = _shown(f)
            f.process(None, data=theirs.data)  # keep the other person's change
            f.raw_data = []  # render the value, not what was typed
            conflict.fields.append(ChangedField(f.name, str(f.label.text), yours, _shown(f), False))
    form.version.data = str(record.version)
    form.snapshot.data = _serializer().dumps(now)
    g.edit_conflict = conflict
    return False


def edit_form(build: Callable[..., Any], record: Any) -> Any:
    """The edit form of ``record``: ``build(**kwargs)`` makes it (choices, values shown on
    GET); on GET it is stamped with the record's version and values."""
    form = build()
    if request.method == "GET":
        stamp(form, record)
    return form


def may_save(form: Any, build: Callable[..., Any], record: Any) -> bool:
    """The form is valid and based on the record's current version (see unchanged_since)."""
    return bool(form.validate_on_submit()) and unchanged_since(
        form, record, lambda: build(formdata=None)
    )


def current_or_new(form: Any, build: Callable[..., Any], record: Any | None) -> bool:
    """For a page that creates or edits: a new record always saves, an edited one only
    when based on its current version (unchanged_since)."""
    return record is None or unchanged_since(form, record, lambda: build(formdata=None))


def status(default: int = 200) -> int:
    """The status of an edit page: 409 when it shows a conflict."""
    return 409 if g.get("edit_conflict") is not None else default


# --- API: ETag / If-Match -----------------------------------------------------------------

PRECONDITION_HEADERS = {
    "If-Match": {
        "description": "The ETag of the version this update is based on (from a GET).",
        "required": True,
        "schema": {"type": "string"},
    }
}


def etag(record: Any) -> str:
    return f'"{type(record).__tablename__}-{record.id}-v{record.version}"'


def check_if_match(record: Any) -> None:
    """Refuse an API update that is not based on the record's current version."""
    header = request.headers.get("If-Match")
    if not header:
        raise ApiError(
            428,
            "precondition_required",
            "Send If-Match with the ETag of the version this update is based on.",
        )
    lock(record)
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    if "*" not in tags and etag(record) not in tags:
        raise ApiError(
            412,
            "precondition_failed",
            "The record was changed since that version; read it again and retry.",
            {"etag": etag(record)},
        )


STALE_MESSAGE = _l(
    "Someone saved this record at the same moment: your changes were not saved. "
    "Open it again to see the current values."
)
