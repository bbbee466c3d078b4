"""Social-clause tenders: supplier profiles and workforce declarations, tenders with their
CPV codes and lots, awarded contracts and their compliance reports.

Legal basis (PRODUCT.md): L. 381/1991 art. 4 (at least 30% disadvantaged workers in a
type-B cooperative, per head, annual average) and art. 5 (conventions below the EU
threshold); D.Lgs. 36/2023 art. 61 (reserved contracts, at least 30% disabled or
disadvantaged workers) and art. 57 (social clauses); Directive 2014/24/EU art. 20.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Any

from flask_babel import format_percent
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin, touches_parent, utcnow
from portal.models import Municipality, Organisation, User

# --- Clause types -------------------------------------------------------------------------

RESERVED = "reserved"  # D.Lgs. 36/2023 art. 61, Directive 2014/24 art. 20
SOCIAL_CLAUSE = "social_clause"  # D.Lgs. 36/2023 art. 57: execution clause
CONVENTION = "convention"  # L. 381/1991 art. 5: direct convention with a type-B coop
PREMIUM = "premium"  # premium measures (ANAC codes 1-13)
NONE = "none"
CLAUSE_TYPES = {
    RESERVED: _l("Reserved contract (D.Lgs. 36/2023 art. 61)"),
    SOCIAL_CLAUSE: _l("Social execution clause (D.Lgs. 36/2023 art. 57)"),
    CONVENTION: _l("Convention with a type-B cooperative (L. 381/1991 art. 5)"),
    PREMIUM: _l("Premium measures"),
    NONE: _l("No social clause"),
}
#: Shown in the page's language (and in OCDS in the release's language); never an empty
#: msgid, which gettext would answer with the catalogue header.
LEGAL_BASIS: dict[str, Any] = {
    RESERVED: _l("D.Lgs. 36/2023 art. 61; Directive 2014/24/EU art. 20"),
    SOCIAL_CLAUSE: _l("D.Lgs. 36/2023 art. 57"),
    CONVENTION: _l("L. 381/1991 art. 5"),
    PREMIUM: _l("D.Lgs. 36/2023 art. 57 c. 2, art. 108 c. 7"),
    NONE: "",
}
#: Minimum share of disabled or disadvantaged workers (percent): art. 61, L. 381 art. 4.
DEFAULT_THRESHOLD = Decimal("30")

# Social execution clause (art. 57): what is required, of what.
SHARE, COUNT = "share", "count"
MEASURES = {SHARE: _l("A share (percent)"), COUNT: _l("A number of people")}
CONTRACT_WORKFORCE, NEW_HIRES, HOURS = "contract_workforce", "new_hires", "hours"
BASES = {
    CONTRACT_WORKFORCE: _l("People employed on the contract"),
    NEW_HIRES: _l("New hires for the contract"),
    HOURS: _l("Hours worked on the contract"),
}

# Tender lifecycle.
DRAFT, PUBLISHED, AWARDED, CLOSED, CANCELLED = (
    "draft",
    "published",
    "awarded",
    "closed",
    "cancelled",
)
TENDER_STATUSES = {
    DRAFT: _l("Draft"),
    PUBLISHED: _l("Open for bids"),
    AWARDED: _l("Awarded"),
    CLOSED: _l("Closed"),
    CANCELLED: _l("Cancelled"),
}
PUBLIC_STATUSES = (PUBLISHED, AWARDED, CLOSED)

GOODS, SERVICES, WORKS = "goods", "services", "works"
CATEGORIES = {GOODS: _l("Supplies"), SERVICES: _l("Services"), WORKS: _l("Works")}

# Reserved participation codes: ANAC (portal/data/reserved_procurement.json) and OCDS.
RESERVED_PARTICIPATION_OCDS = {
    "res-ws": "shelteredWorkshop",
    "res-pub-ser": "publicServiceMissionOrganization",
}

# Compliance reports.
SUBMITTED, ACCEPTED, FLAGGED = "submitted", "accepted", "flagged"
REPORT_STATUSES = {
    SUBMITTED: _l("Awaiting review"),
    ACCEPTED: _l("Accepted"),
    FLAGGED: _l("Flagged"),
}


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """Exact share in percent (no rounding: thresholds are compared on this value)."""
    if denominator <= 0:
        return None
    return Decimal(numerator) * 100 / Decimal(denominator)


def shown_percent(value: Decimal | None) -> str:
    """A share for people: one decimal, rounded down so 29.96% never shows as 30.0%, in
    the page's language ("29,9%" in Italian, "29.9%" in English)."""
    if value is None:
        return "—"
    shown = Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return format_percent(shown / 100, "#,##0.0%")


# --- Suppliers ----------------------------------------------------------------------------


class SupplierProfile(Versioned, TimestampMixin, Base):
    """What a type-B cooperative or social farm declares as a supplier (one per org)."""

    __tablename__ = "tender_supplier_profile"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    #: Date of enrolment in the register (Albo delle cooperative / regional register).
    register_enrolled_on: Mapped[date | None] = mapped_column(Date)
    #: Regional registers are revised: the enrolment counts until this date (None: open).
    register_valid_until: Mapped[date | None] = mapped_column(Date)
    register_evidence: Mapped[str] = mapped_column(String(300), default="")
    max_contract_value: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    capabilities: Mapped[list[SupplierCapability]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SupplierCapability.cpv_code"
    )
    territories: Mapped[list[SupplierTerritory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def register_reference(self) -> str:
        org = self.organisation
        return org.register_number or org.regional_register

    def register_current(self, today: date) -> bool:
        return bool(self.register_reference) and (
            self.register_valid_until is None or self.register_valid_until >= today
        )


@lru_cache(maxsize=65536)
def cpv_prefix(code: str) -> str:
    """The significant part of a CPV code: trailing zeros dropped, at least the division
    (2 digits). 90910000 (cleaning services) covers every code starting with 9091."""
    significant = code.rstrip("0")
    return significant if len(significant) >= 2 else code[:2]


class SupplierCapability(Base):
    """A CPV code the supplier can deliver; covers the codes below it in the hierarchy."""

    __tablename__ = "tender_supplier_capability"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("tender_supplier_profile.organisation_id", ondelete="CASCADE"),
        primary_key=True,
    )
    cpv_code: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    #: cpv_prefix(cpv_code), indexed: a tender code's prefixes find suppliers at once.
    prefix: Mapped[str] = mapped_column(String(8), index=True)


PROVINCE, REGION = "province", "region"


class SupplierTerritory(Base):
    """A province (code, e.g. PN) or a region (name) the supplier works in."""

    __tablename__ = "tender_supplier_territory"
    __table_args__ = (Index("ix_tender_supplier_territory_value", "scope", "value"),)

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("tender_supplier_profile.organisation_id", ondelete="CASCADE"),
        primary_key=True,
    )
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(60), primary_key=True)


#: L. 381/1991 art. 4 categories of disadvantaged persons (each worker counted once).
ART4_CATEGORIES = {
    "disabled": _l("Physical, mental or sensory disability"),
    "psychiatric": _l("Former or current psychiatric patients"),
    "addiction": _l("Drug or alcohol addiction"),
    "minors": _l("Minors of working age in family difficulty"),
    "prisoners": _l("Prisoners and people on alternative measures"),
}


class WorkforceDeclaration(TimestampMixin, Base):
    """Workforce of one year, per head as an annual average (L. 381/1991 art. 4).

    Every figure is the average number of people on the payroll over the year (e.g. the
    mean of the twelve monthly head counts), not hours. Each worker is counted once: the
    disadvantaged categories, the other disadvantaged and the other workers are disjoint.
    The shares are computed, never typed in.
    """

    __tablename__ = "tender_workforce_declaration"
    __table_args__ = (UniqueConstraint("organisation_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("tender_supplier_profile.organisation_id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int]
    total_workers: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    disabled: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal(0))
    psychiatric: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal(0))
    addiction: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal(0))
    minors: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal(0))
    prisoners: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal(0))
    #: Disadvantaged under Reg. (EU) 651/2014 art. 2 (e.g. long-term unemployed) but not
    #: L. 381 art. 4: they count for reserved contracts (art. 61), not for the coop's 30%.
    other_disadvantaged: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal(0))
    evidence: Mapped[str] = mapped_column(String(300), default="")
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    declared_by: Mapped[User | None] = relationship()
    documents: Mapped[list[EvidenceDocument]] = relationship(
        lazy="selectin", order_by="EvidenceDocument.id", passive_deletes=True
    )

    @property
    def art4_workers(self) -> Decimal:
        return sum((getattr(self, c) or Decimal(0) for c in ART4_CATEGORIES), Decimal(0))

    @property
    def l381_share(self) -> Decimal | None:
        """L. 381/1991 art. 4: art. 4 categories over all workers, per head."""
        return percent(self.art4_workers, self.total_workers)

    @property
    def art61_share(self) -> Decimal | None:
        """D.Lgs. 36/2023 art. 61: disabled or disadvantaged workers over all workers."""
        return percent(
            self.art4_workers + (self.other_disadvantaged or Decimal(0)), self.total_workers
        )


# --- Tenders ------------------------------------------------------------------------------


class Tender(Versioned, TimestampMixin, Base):
    __tablename__ = "tender"
    __search_type__ = "tender"
    __table_args__ = (
        Index("ix_tender_public", "status", "deadline"),
        Index("ix_tender_buyer_status", "buyer_org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ocid: Mapped[str] = mapped_column(String(120), unique=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    #: The buyer as the OCDS data names it (the portal body may be spelt differently).
    buyer_name: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    main_category: Mapped[str] = mapped_column(String(10), default=SERVICES)
    #: Estimated value net of VAT, with its currency.
    value_amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    value_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    comune_code: Mapped[str | None] = mapped_column(
        ForeignKey("municipality.istat_code"), index=True
    )
    tender_start: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    contract_start: Mapped[date | None] = mapped_column(Date)
    contract_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    clause_type: Mapped[str] = mapped_column(String(16), default=NONE, index=True)
    #: Reserved contracts and conventions: minimum share of disabled/disadvantaged workers.
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: Reserved participation code (ANAC: res-ws, res-pub-ser, none).
    reserved_participation: Mapped[str] = mapped_column(String(20), default="none")
    reserved_execution: Mapped[bool] = mapped_column(default=False)
    social_standards: Mapped[str] = mapped_column(Text, default="")
    # Social execution clause (art. 57).
    clause_measure: Mapped[str | None] = mapped_column(String(10))
    clause_target: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    clause_base: Mapped[str | None] = mapped_column(String(20))
    premium_measures: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: OCDS sustainability objects as published (goals and strategies).
    sustainability: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="portal")
    #: Imported processes: the compiled release, verbatim (every field, modelled or not);
    #: the columns above are derived from it and the OCDS export starts from it.
    source_release: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    imported_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    buyer: Mapped[Organisation] = relationship(lazy="joined")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    cpv_rows: Mapped[list[TenderCpv]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TenderCpv.position"
    )
    lots: Mapped[list[TenderLot]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TenderLot.position"
    )
    contracts: Mapped[list[Contract]] = relationship(back_populates="tender", lazy="selectin")
    releases: Mapped[list[TenderRelease]] = relationship(
        cascade="all, delete-orphan",
        lazy="select",
        order_by="(TenderRelease.date, TenderRelease.id)",
        passive_deletes=True,
    )

    @property
    def missing_cpv(self) -> bool:
        """Imported without a CPV code: eligible-supplier matching waits for an officer."""
        return not self.cpv_rows

    @property
    def cpv_codes(self) -> list[str]:
        return [row.code for row in self.cpv_rows]

    @property
    def clause_label(self) -> str:
        return str(CLAUSE_TYPES.get(self.clause_type, self.clause_type))

    @property
    def status_label(self) -> str:
        return str(TENDER_STATUSES.get(self.status, self.status))

    @property
    def legal_basis(self) -> str:
        return str(LEGAL_BASIS.get(self.clause_type, ""))

    @property
    def required_share(self) -> Decimal | None:
        """The share of disabled/disadvantaged workers a supplier must declare."""
        if self.clause_type in (RESERVED, CONVENTION):
            return self.threshold if self.threshold is not None else DEFAULT_THRESHOLD
        return None

    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES and self.buyer.is_verified

    def is_open(self, now: datetime) -> bool:
        return self.status == PUBLISHED and (self.deadline is None or self.deadline >= now)

    def search_document(self) -> dict[str, Any] | None:
        from brokerage.tenders.cpv import label

        if not self.is_public():
            return None
        place = self.municipality
        return {
            "title": self.title,
            "body": [
                self.description,
                self.buyer.name,
                place.name if place else "",
                ", ".join(label(c, "it") for c in self.cpv_codes),
            ],
            "title_en": self.title,
            "body_en": ", ".join(label(c, "en") for c in self.cpv_codes),
            "kind": self.clause_type,
            "comune": self.comune_code or "",
            "province": place.province_code if place else "",
            "region": place.region if place else "",
            "tags": [self.clause_type, *self.cpv_codes],
            "published": self.published_at,
            "url_endpoint": ("tenders.tender_detail", {"tender_id": self.id}),
        }


@touches_parent(Tender, "tender_id")  # its changes show in Tender.updated_at
class TenderCpv(Base):
    """A CPV code of the tender (items' classifications), in the order published."""

    __tablename__ = "tender_cpv"

    tender_id: Mapped[int] = mapped_column(
        ForeignKey("tender.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: False: the code is not in the CPV 2008 list (kept, with a warning).
    known: Mapped[bool] = mapped_column(default=True)


@touches_parent(Tender, "tender_id")  # its changes show in Tender.updated_at
class TenderLot(Base):
    __tablename__ = "tender_lot"
    __table_args__ = (UniqueConstraint("tender_id", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    value_amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    value_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    reserved_participation: Mapped[str] = mapped_column(String(20), default="none")
    reserved_execution: Mapped[bool] = mapped_column(default=False)


EMBEDDED, LINKED, COMPILED = "embedded", "linked", "compiled"


class TenderRelease(Base):
    """One OCDS release of an imported process, as published (after the 1.0 to 1.1 upgrade):
    the release history from which the compiled release is merged. ``linked``: a record
    named the release only by its URL; ``compiled``: the publisher gave only the record's
    compiled release."""

    __tablename__ = "tender_ocds_release"
    __table_args__ = (UniqueConstraint("tender_id", "release_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    release_id: Mapped[str] = mapped_column(String(300))
    #: The release's ``date`` as published (ISO 8601 sorts as text).
    date: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(10), default=EMBEDDED)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The extensions the package that carried the release declared.
    extensions: Mapped[list[str]] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenderNotice(Base):
    """A supplier was told about an eligible tender (so re-imports do not repeat it)."""

    __tablename__ = "tender_notice"

    tender_id: Mapped[int] = mapped_column(
        ForeignKey("tender.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Contracts and compliance ---------------------------------------------------------------


class Contract(TimestampMixin, Base):
    """An award: the supplier, the value and the dates; reports are due every period."""

    __tablename__ = "tender_contract"
    __table_args__ = (UniqueConstraint("tender_id", "supplier_org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    ocds_award_id: Mapped[str] = mapped_column(String(120), default="")
    value_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    value_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    report_every_months: Mapped[int] = mapped_column(default=3)
    awarded_at: Mapped[datetime] = mapped_column(default=utcnow)
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reminded_at: Mapped[datetime | None]

    tender: Mapped[Tender] = relationship(back_populates="contracts", lazy="joined")
    supplier: Mapped[Organisation] = relationship(lazy="joined")
    reports: Mapped[list[ComplianceReport]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ComplianceReport.period_start",
    )


class ComplianceReport(Base):
    """What the supplier declares for one reporting period (aggregate counts only)."""

    __tablename__ = "tender_compliance_report"
    __table_args__ = (
        UniqueConstraint("contract_id", "period_start"),
        Index("ix_tender_compliance_report_status", "status", "filed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("tender_contract.id", ondelete="CASCADE"), index=True
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    workers_total: Mapped[int]
    #: Disjoint: disadvantaged (L. 381 art. 4 or Reg. EU 651/2014) and disabled people.
    workers_disadvantaged: Mapped[int] = mapped_column(default=0)
    workers_disabled: Mapped[int] = mapped_column(default=0)
    hours_total: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    hours_disadvantaged: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    new_hires_total: Mapped[int] = mapped_column(default=0)
    new_hires_disadvantaged: Mapped[int] = mapped_column(default=0)
    #: New hires who came through the network's brokers (the caseload).
    new_hires_from_caseload: Mapped[int] = mapped_column(default=0)
    evidence: Mapped[str] = mapped_column(String(300), default="")
    #: Computed when filed: the share or number measured and whether the clause is kept
    #: (None: the clause has no computable target, the officer judges).
    measured: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    compliant: Mapped[bool | None]
    status: Mapped[str] = mapped_column(String(10), default=SUBMITTED)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship(back_populates="reports")
    documents: Mapped[list[EvidenceDocument]] = relationship(
        back_populates="report",
        lazy="selectin",
        order_by="EvidenceDocument.id",
        passive_deletes=True,
    )

    @property
    def status_label(self) -> str:
        return str(REPORT_STATUSES.get(self.status, self.status))


class EvidenceDocument(Base):
    """A PDF a supplier attaches as evidence: of its register enrolment (no declaration,
    no report), of a workforce declaration or of a compliance report.

    Evidence may hold personal data (a payroll extract names people, some of them disabled
    or disadvantaged): it is never public. The supplier's people read it, the buyer's
    officers read a report's, administrators any (verification); every read is audited.
    Files are checked by their magic bytes and kept under a random name (``evidence.py``).
    """

    __tablename__ = "tender_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    declaration_id: Mapped[int | None] = mapped_column(
        ForeignKey("tender_workforce_declaration.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("tender_compliance_report.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[ComplianceReport | None] = relationship(back_populates="documents")
