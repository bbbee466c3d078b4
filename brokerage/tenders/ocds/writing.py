"""Writing an import to the database: the ``Importer`` batches prepared releases, keeps each
verbatim in the release history (``TenderRelease``), creates or updates the tender of each
ocid from its compiled release, turns awards to the portal's suppliers into contracts, and
notifies the eligible suppliers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from brokerage.tenders import services
from brokerage.tenders.models import (
    AWARDED,
    DRAFT,
    EMBEDDED,
    NONE,
    PUBLISHED,
    Contract,
    Tender,
    TenderRelease,
)
from brokerage.tenders.ocds.mapping import Extracted, clean_text, extract, ocds_datetime, ocds_money
from brokerage.tenders.ocds.preparing import Prepared, compile_release, prepare
from brokerage.tenders.ocds.reading import Reader, stream_position
from brokerage.tenders.ocds.report import MAX_WARNINGS, ImportReport, TenderRef
from brokerage.tenders.ocds.schema import ImportRejected, Problem, pointer
from brokerage.tenders.ocds.schema import jsonable as _jsonable
from portal import audit, db
from portal.db import utcnow
from portal.models import PUBLIC_BODY, Organisation, User

#: Releases written per flush: bounds memory and the size of each query.
BATCH = 200
# --- Writing ----------------------------------------------------------------------------------


class Importer:
    """Reads a stream and writes its processes, ``BATCH`` releases at a time, inside one
    savepoint (the caller commits; nothing is written when the import is refused)."""

    def __init__(
        self,
        body: Organisation,
        user: User | None,
        today: date,
    ) -> None:
        self.body, self.user, self.today = body, user, today
        self.report = ImportReport()
        self._bodies: dict[str, int] = {}
        #: Each process is reported once, however many batches its releases span.
        self._reported: set[str] = set()

    def steps(self, stream: IO[bytes]) -> Iterator[int]:
        """Imports, yielding how far into the stream it is after each batch written."""
        reader = Reader(stream, self.report)
        with db.session.begin_nested():
            batch: list[Prepared] = []
            size = 0
            for unit in reader:
                prepared = prepare(unit, self.report)
                if prepared is None:
                    continue
                batch.append(prepared)
                size += len(prepared.releases)
                if size >= BATCH:
                    self._write(batch)
                    batch, size = [], 0
                    yield stream_position(stream)
            if batch:
                self._write(batch)
            yield stream_position(stream)
        report = self.report
        if reader.values == 0:
            raise ImportRejected("invalid_json", [Problem("", _("The file is empty."))])
        if not (report.created or report.updated or report.unchanged):
            raise ImportRejected(
                "invalid_ocds",
                [
                    Problem(
                        "",
                        _(
                            "No contracting process to import: the file needs releases or "
                            "records with an ocid."
                        ),
                    ),
                    *report.warnings[:MAX_WARNINGS],
                ],
            )

    def _other_body(self, name: str) -> int | None:
        """The id of the portal's public body named ``name``, if it is not the importer's."""
        key = name.lower()
        if key not in self._bodies:
            found = db.session.execute(
                select(Organisation.id).where(
                    Organisation.kind == PUBLIC_BODY, func.lower(Organisation.name) == key
                )
            ).scalar()
            self._bodies[key] = found
        found = self._bodies[key]
        return found if found is not None and found != self.body.id else None

    def _write(self, batch: list[Prepared]) -> None:
        report = self.report
        groups: dict[str, list[Prepared]] = {}
        for prepared in batch:
            groups.setdefault(prepared.ocid, []).append(prepared)
        existing = {
            t.ocid: t
            for t in db.session.execute(select(Tender).where(Tender.ocid.in_(list(groups))))
            .unique()
            .scalars()
        }
        problems: list[Problem] = []
        for ocid, items in groups.items():
            tender = existing.get(ocid)
            if tender is not None and tender.buyer_org_id != self.body.id:
                problems.append(
                    Problem(
                        items[0].path + "/ocid",
                        _(
                            "This process belongs to another body (%(body)s): only its "
                            "officers can update it.",
                            body=tender.buyer.name,
                        ),
                    )
                )
        if problems:
            raise ImportRejected("invalid_ocds", problems)
        written: list[tuple[Tender, Extracted, str, bool]] = []
        newly_published: list[Tender] = []
        with db.session.no_autoflush:
            for ocid, items in groups.items():
                tender = existing.get(ocid)
                created = tender is None
                rows = [] if created else list(tender.releases)
                changed = self._history(tender, rows, items)
                path = items[-1].path
                if not created and not changed:
                    if tender.ocid not in self._reported:
                        self._reported.add(tender.ocid)
                        report.unchanged.append(TenderRef.of(tender))
                    continue
                given = next((p.compiled for p in reversed(items) if p.compiled), None)
                if given is not None and any(
                    r.kind == EMBEDDED and r.release_id not in _ids(items) for r in rows
                ):
                    given = None  # other releases came before: merge them all
                compiled = compile_release(rows, given, path, report)
                if compiled is None:
                    continue
                local: list[Problem] = []
                if given is not None:
                    extracted = extract(compiled, path + "/compiledRelease", local)
                    members: list[tuple[str, dict[str, Any]]] = []
                else:
                    extracted = extract(compiled, "", local)
                    members = [
                        (p.path, data)
                        for p in items
                        for _id, _when, kind, data in p.releases
                        if kind == EMBEDDED
                    ]
                for problem in local:
                    where = (
                        problem.path
                        if given is not None
                        else _where_in(problem.path, members, path)
                    )
                    report.warn(where, problem.message)
                other = extracted.buyer_name and self._other_body(extracted.buyer_name)
                if other:
                    raise ImportRejected(
                        "invalid_ocds",
                        [
                            Problem(
                                path + "/buyer",
                                _(
                                    "The buyer is %(body)s, another body of the portal: its "
                                    "officers import its tenders.",
                                    body=extracted.buyer_name,
                                ),
                            )
                        ],
                    )
                if created:
                    tender = Tender(
                        ocid=ocid,
                        buyer=self.body,
                        status=DRAFT,
                        source="ocds",
                        created_by_id=self.user.id if self.user else None,
                    )
                    db.session.add(tender)
                    rows_to_add = rows
                else:
                    rows_to_add = [r for r in rows if r.id is None]
                was_public = tender.status != DRAFT
                data = extracted.data
                if not data.cpv_codes and tender.cpv_rows:
                    data.cpv_codes = list(tender.cpv_codes)  # the officer's codes stay
                services.apply_data(tender, data)
                tender.buyer_name = (extracted.buyer_name or self.body.name)[:300]
                tender.source, tender.imported_at = "ocds", utcnow()
                tender.source_release = _jsonable(compiled)
                for row in rows_to_add:
                    if row not in tender.releases:
                        tender.releases.append(row)
                status = extracted.status
                if not created and tender.contracts and status == PUBLISHED:
                    status = AWARDED
                tender.status = status
                if status != DRAFT and tender.published_at is None:
                    tender.published_at = utcnow()
                if status == PUBLISHED and not was_public:
                    newly_published.append(tender)
                written.append((tender, extracted, path, created))
        db.session.flush()
        for tender, extracted, path, _created in written:
            if extracted.awards:
                report.contracts += self._awards(tender, extracted, path)
            audit.record("tender.import", tender, actor=self.user, ocid=tender.ocid)
            for warning in services.tender_warnings(tender):
                report.warn(path + "/tender", str(warning))
        db.session.flush()
        if newly_published:
            index = services.SupplierIndex(self.today) if len(newly_published) > 1 else None
            report.notified += services.notify_many(newly_published, self.today, index)
        for tender, _extracted, _path, created in written:
            ref = TenderRef.of(tender)
            if ref.ocid in self._reported:
                continue
            self._reported.add(ref.ocid)
            (report.created if created else report.updated).append(ref)
        # The batch leaves the session: memory stays bounded however long the file is.
        for tender in {t for t, *_rest in written} | set(existing.values()):
            for release in tender.__dict__.get("releases", []):
                if release in db.session:
                    db.session.expunge(release)
            if tender in db.session:
                db.session.expunge(tender)

    def _history(
        self, tender: Tender | None, rows: list[TenderRelease], items: list[Prepared]
    ) -> bool:
        """Adds the new releases to ``rows`` (a release id seen before is replaced when
        its content differs); whether anything changed."""
        by_id = {row.release_id: row for row in rows}
        changed = False
        for prepared in items:
            for release_id, when, kind, data in prepared.releases:
                stored = _jsonable(data)
                row = by_id.get(release_id)
                if row is not None:
                    if row.data == stored and row.kind == kind:
                        continue
                    row.data, row.kind, row.date = stored, kind, when[:40]
                    row.extensions = prepared.extensions
                    changed = True
                    continue
                row = TenderRelease(
                    release_id=release_id,
                    date=when[:40],
                    kind=kind,
                    data=stored,
                    extensions=prepared.extensions,
                    imported_at=utcnow(),
                )
                rows.append(row)
                by_id[release_id] = row
                changed = True
        rows.sort(key=lambda r: (r.date, r.release_id))
        return changed

    def _awards(self, tender: Tender, item: Extracted, path: str) -> int:
        """Contracts (followed by compliance monitoring) for awards to suppliers of the
        portal; value and period from the award's OCDS contract when it has them."""
        made = 0
        social = tender.clause_type != NONE
        by_award: dict[str, dict[str, Any]] = {}
        for contract in item.contracts:
            if contract.get("awardID") is not None:
                by_award.setdefault(str(contract["awardID"]), contract)
        for index, award in enumerate(item.awards):
            if award.get("status") not in (None, "active"):
                continue
            award_path = path + pointer("awards", index)
            ocds_contract = by_award.get(str(award.get("id")), {})
            for supplier_ref in award.get("suppliers") or []:
                if not isinstance(supplier_ref, dict):
                    continue
                party = item.parties.get(str(supplier_ref.get("id")), {})
                org = _supplier_org(supplier_ref, party)
                name = clean_text(supplier_ref.get("name") or party.get("name"))
                if org is None:
                    if social:
                        self.report.warn(
                            award_path + "/suppliers",
                            _(
                                "%(name)s is not a verified supplier of the portal: its "
                                "contract is not followed here.",
                                name=name or "?",
                            ),
                        )
                    continue
                local: list[Problem] = []
                value, currency = ocds_money(ocds_contract.get("value"), "", local, local)
                if value is None:
                    value, currency = ocds_money(award.get("value"), "", local, local)
                if value is None:
                    value, currency = tender.value_amount, tender.value_currency
                period = ocds_contract.get("period") or award.get("contractPeriod") or {}
                start = ocds_datetime(period.get("startDate"), "", local) or (
                    datetime.combine(item.contract_period[0], datetime.min.time())
                    if item.contract_period[0]
                    else None
                )
                end = ocds_datetime(period.get("endDate"), "", local) or (
                    datetime.combine(item.contract_period[1], datetime.min.time())
                    if item.contract_period[1]
                    else None
                )
                if value is None or start is None or end is None or end < start:
                    self.report.warn(
                        award_path,
                        _(
                            "The award to %(name)s has no value or contract period: record it "
                            "in the portal.",
                            name=org.name,
                        ),
                    )
                    continue
                contract = next((c for c in tender.contracts if c.supplier_org_id == org.id), None)
                if contract is None:
                    contract = Contract(
                        tender=tender,
                        supplier=org,
                        awarded_by_id=self.user.id if self.user else None,
                    )
                    db.session.add(contract)
                    made += 1
                contract.value_amount, contract.value_currency = value, currency
                contract.start_date, contract.end_date = start.date(), end.date()
                contract.ocds_award_id = clean_text(award.get("id"), 120)
                if tender.status == PUBLISHED:
                    tender.status = AWARDED
        return made


def _resolves(document: Any, path: str) -> bool:
    node = document
    for raw in path.split("/")[1:]:
        step = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return False
    return True


def _where_in(relative: str, members: list[tuple[str, dict[str, Any]]], fallback: str) -> str:
    """A problem found in a compiled release, pointed at the last release of the file that
    has the field (the compiled release is not in the file)."""
    for base, data in reversed(members):
        if relative and _resolves(data, relative):
            return base + relative
    return fallback + relative


def _ids(items: list[Prepared]) -> set[str]:
    return {release_id for p in items for release_id, *_rest in p.releases}


def _supplier_org(ref: dict[str, Any], party: dict[str, Any]) -> Organisation | None:
    identifier = party.get("identifier") or {}
    fiscal = clean_text(identifier.get("id"))
    stmt = select(Organisation).where(
        Organisation.kind.in_(services.SUPPLIER_KINDS), Organisation.verified_at.is_not(None)
    )
    if fiscal:
        found = db.session.execute(stmt.where(Organisation.fiscal_code == fiscal)).scalars().first()
        if found is not None:
            return found
    name = clean_text(ref.get("name") or party.get("name"))
    if not name:
        return None
    return (
        db.session.execute(stmt.where(func.lower(Organisation.name) == name.lower()))
        .scalars()
        .first()
    )
