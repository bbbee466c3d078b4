"""What an OCDS import tells its caller: the tenders it created, updated or left
unchanged (``TenderRef``), the counts of releases, records and contracts, and the
warnings with their JSON pointers (``ImportReport``, at most ``MAX_WARNINGS`` kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brokerage.tenders.models import TENDER_STATUSES, Tender
from brokerage.tenders.ocds.schema import Problem

#: Warnings kept in the report (the rest are counted).
MAX_WARNINGS = 1000


@dataclass
class TenderRef:
    """A tender the import wrote (the objects themselves leave the session as it goes)."""

    id: int
    ocid: str
    status: str
    title: str = ""
    missing_cpv: bool = False

    @classmethod
    def of(cls, tender: Tender) -> TenderRef:
        return cls(tender.id, tender.ocid, tender.status, tender.title, not tender.cpv_rows)

    @property
    def status_label(self) -> str:
        return str(TENDER_STATUSES.get(self.status, self.status))


@dataclass
class ImportReport:
    created: list[TenderRef] = field(default_factory=list)
    updated: list[TenderRef] = field(default_factory=list)
    #: Processes whose releases were all imported before: nothing changed.
    unchanged: list[TenderRef] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    warnings_total: int = 0
    releases: int = 0
    records: int = 0
    contracts: int = 0
    notified: int = 0
    upgraded: int = 0

    def warn(self, path: str, message: str) -> None:
        self.warnings_total += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(Problem(path, message))
