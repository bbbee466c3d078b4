"""Demo data for social-clause tenders (idempotent): the demo cooperatives and social farms
as suppliers, tenders of every clause type of Comune di Pordenone and Provincia di
Frosinone, awarded contracts with compliant, flagged and overdue reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from brokerage.tenders import services
from brokerage.tenders.models import (
    ACCEPTED,
    AWARDED,
    CONVENTION,
    DRAFT,
    FLAGGED,
    NONE,
    PREMIUM,
    PUBLISHED,
    RESERVED,
    SOCIAL_CLAUSE,
    ComplianceReport,
    SupplierProfile,
    Tender,
    WorkforceDeclaration,
)
from brokerage.tenders.services import (
    AwardData,
    DeclarationData,
    LotData,
    ProfileData,
    TenderData,
)
from portal import accounts, db
from portal.db import utcnow

PORDENONE, FROSINONE = "Comune di Pordenone", "Provincia di Frosinone"

# (organisation, CPV capabilities, provinces, regions, declaration: total, art. 4 by
#  category, other disadvantaged)
SUPPLIERS: list[tuple[str, list[str], list[str], list[str], str, dict[str, str], str]] = [
    (
        "Cooperativa Sociale Il Ponte",
        ["77310000", "90910000", "63100000"],
        ["PN", "UD"],
        [],
        "40",
        {"disabled": "6", "psychiatric": "4", "addiction": "3", "prisoners": "1"},
        "2",
    ),
    # 29.9%: just below the threshold, so it shows why a supplier is not eligible.
    (
        "Cooperativa Sociale La Fenice",
        ["90910000", "98341120", "79995100"],
        ["TO"],
        [],
        "20",
        {"disabled": "3", "psychiatric": "1.98", "addiction": "1"},
        "0",
    ),
    (
        "Cooperativa Sociale Monza Lavoro",
        ["63100000", "90910000"],
        ["MB", "MI"],
        [],
        "30",
        {"disabled": "5", "addiction": "2", "minors": "1", "prisoners": "1"},
        "1",
    ),
    (
        "Fattoria Sociale Terre del Liri",
        ["03200000", "77310000", "55524000"],
        ["FR"],
        ["Lazio"],
        "10",
        {"disabled": "1", "addiction": "2"},
        "1",
    ),
    (
        "Fattoria Sociale Il Melograno",
        ["03222000", "15831600", "77311000"],
        [],
        ["Friuli-Venezia Giulia"],
        "8",
        {"disabled": "1", "psychiatric": "1"},
        "1",
    ),
]


def _tender(
    buyer: str,
    ocid: str,
    title: str,
    description: str,
    codes: list[str],
    value: str,
    comune: str,
    clause: str,
    *,
    status: str = PUBLISHED,
    days: int = 30,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "buyer": buyer,
        "ocid": ocid,
        "title": title,
        "description": description,
        "codes": codes,
        "value": value,
        "comune": comune,
        "clause": clause,
        "status": status,
        "days": days,
        **extra,
    }


TENDERS: list[dict[str, Any]] = [
    _tender(
        PORDENONE,
        "ocds-ponte-demo-001",
        "Manutenzione del verde pubblico – appalto riservato",
        "Sfalcio, potature e cura delle aiuole dei parchi cittadini. Appalto "
        "riservato ad operatori economici con almeno il 30% di lavoratori svantaggiati.",
        ["77310000"],
        "180000.00",
        "093033",
        RESERVED,
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-002",
        "Pulizia degli uffici comunali – esecuzione riservata",
        "Pulizia quotidiana di uffici e sale riunioni, esecuzione riservata a "
        "programmi di lavoro protetto.",
        ["90911200", "90919200"],
        "95000.00",
        "093033",
        RESERVED,
        reserved_execution=True,
    ),
    _tender(
        FROSINONE,
        "ocds-ponte-demo-003",
        "Portierato e custodia degli edifici provinciali",
        "Servizi di portineria e custodia in tre sedi, suddivisi in due lotti.",
        ["98341120", "98341140"],
        "140000.00",
        "060038",
        RESERVED,
        lots=[("1", "Sede centrale", "90000.00"), ("2", "Sedi distaccate", "50000.00")],
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-004",
        "Raccolta dei rifiuti ingombranti – clausola sociale",
        "Raccolta a domicilio su prenotazione. Il 30% del personale impiegato "
        "deve essere costituito da persone svantaggiate o con disabilità.",
        ["90511000"],
        "210000.00",
        "093033",
        SOCIAL_CLAUSE,
        measure="share",
        target="30",
        base="contract_workforce",
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-005",
        "Gestione del magazzino comunale",
        "Ricevimento, "
        "stoccaggio e consegna di materiali agli uffici. Clausola sociale: almeno due "
        "assunzioni di persone svantaggiate.",
        ["63121000"],
        "75000.00",
        "093033",
        SOCIAL_CLAUSE,
        measure="count",
        target="2",
        base="new_hires",
    ),
    _tender(
        FROSINONE,
        "ocds-ponte-demo-006",
        "Trasporto scolastico per alunni con disabilità",
        "Accompagnamento e trasporto casa-scuola. Almeno il 20% delle ore "
        "lavorate da persone svantaggiate.",
        ["60130000"],
        "160000.00",
        "060038",
        SOCIAL_CLAUSE,
        measure="share",
        target="20",
        base="hours",
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-007",
        "Convenzione art. 5 per la manutenzione dei cimiteri",
        "Convenzione diretta con cooperativa sociale di tipo B per la "
        "manutenzione dei cimiteri comunali.",
        ["98371111", "77310000"],
        "120000.00",
        "093033",
        CONVENTION,
    ),
    _tender(
        FROSINONE,
        "ocds-ponte-demo-008",
        "Convenzione art. 5 – pulizia degli edifici provinciali",
        "Convenzione con cooperativa sociale di tipo B. Il valore supera la "
        "soglia europea: il portale lo segnala.",
        ["90919200"],
        "260000.00",
        "060038",
        CONVENTION,
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-009",
        "Fornitura di ortaggi per le mense scolastiche",
        "Ortaggi freschi di stagione per dodici mense. Misure premiali per l'inclusione "
        "dei lavoratori con disabilità.",
        ["03221000"],
        "60000.00",
        "093033",
        PREMIUM,
        premium=["3", "12"],
        category="goods",
    ),
    _tender(
        FROSINONE,
        "ocds-ponte-demo-010",
        "Servizio di ristorazione scolastica",
        "Preparazione e distribuzione dei pasti nelle scuole superiori.",
        ["55524000"],
        "420000.00",
        "060038",
        PREMIUM,
        premium=["8", "12"],
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-011",
        "Manutenzione degli impianti elettrici",
        "Manutenzione ordinaria degli impianti elettrici degli edifici comunali.",
        ["50711000"],
        "85000.00",
        "093033",
        NONE,
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-012",
        "Archiviazione documentale – bozza",
        "Riordino e archiviazione dell'archivio di deposito.",
        ["79995100"],
        "40000.00",
        "093033",
        RESERVED,
        status=DRAFT,
    ),
    # Awarded: contracts with compliant, flagged and overdue reports.
    _tender(
        PORDENONE,
        "ocds-ponte-demo-013",
        "Manutenzione del verde scolastico 2025–2026",
        "Appalto riservato: cura del verde di asili e scuole.",
        ["77310000"],
        "90000.00",
        "093033",
        RESERVED,
        status=AWARDED,
        days=-300,
        award=("Cooperativa Sociale Il Ponte", "86500.00", [ACCEPTED, ACCEPTED]),
    ),
    _tender(
        PORDENONE,
        "ocds-ponte-demo-014",
        "Facchinaggio per gli uffici comunali",
        "Clausola sociale: 30% di persone svantaggiate tra il personale impiegato.",
        ["63100000"],
        "70000.00",
        "093033",
        SOCIAL_CLAUSE,
        status=AWARDED,
        days=-300,
        measure="share",
        target="30",
        base="contract_workforce",
        award=("Cooperativa Sociale Monza Lavoro", "68000.00", [ACCEPTED, FLAGGED]),
    ),
    _tender(
        FROSINONE,
        "ocds-ponte-demo-015",
        "Cura delle aree verdi provinciali",
        "Appalto riservato per la manutenzione delle aree verdi.",
        ["77310000"],
        "55000.00",
        "060038",
        RESERVED,
        status=AWARDED,
        days=-300,
        award=("Fattoria Sociale Terre del Liri", "52000.00", [ACCEPTED]),
    ),
]

#: (workers, disadvantaged, disabled, hours, hours disadvantaged, new hires, of whom
#: disadvantaged, from the caseload) by the status a report ends with.
REPORT_FIGURES = {
    ACCEPTED: (10, 3, 1, "1600.00", "560.00", 2, 1, 1),
    FLAGGED: (10, 1, 1, "1600.00", "300.00", 1, 0, 0),
}


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    today = utcnow().date()
    officer = accounts.find_user("officer@ponte.demo")
    for name, codes, provinces, regions, total, categories, other in SUPPLIERS:
        org = accounts.find_organisation(name)
        if org is None:
            continue
        if db.session.get(SupplierProfile, org.id) is None:
            services.save_profile(
                org,
                None,
                ProfileData(  # type: ignore[arg-type]
                    cpv_codes=codes,
                    provinces=provinces,
                    regions=regions,
                    register_enrolled_on=today.replace(year=today.year - 6, month=1, day=15),
                    register_valid_until=today + timedelta(days=365)
                    if org.kind == "social_farm"
                    else None,
                    register_evidence="Visura camerale / iscrizione all'albo (demo)",
                ),
            )
        for year in (today.year - 2, today.year - 1):
            exists = db.session.execute(
                select(WorkforceDeclaration.id).where(
                    WorkforceDeclaration.organisation_id == org.id,
                    WorkforceDeclaration.year == year,
                )
            ).first()
            if exists:
                continue
            services.save_declaration(
                org,
                None,
                DeclarationData(  # type: ignore[arg-type]
                    year=year,
                    total_workers=Decimal(total),
                    other_disadvantaged=Decimal(other),
                    evidence="Libro unico del lavoro (demo)",
                    **{k: Decimal(v) for k, v in categories.items()},
                ),
                today,
            )
    db.session.flush()
    created = 0
    for spec in TENDERS:
        if db.session.execute(select(Tender.id).where(Tender.ocid == spec["ocid"])).first():
            continue
        body = accounts.find_organisation(spec["buyer"])
        if body is None:
            continue
        author = officer if spec["buyer"] == PORDENONE else None
        deadline = datetime.combine(
            today + timedelta(days=spec["days"]), time(12), tzinfo=utcnow().tzinfo
        )
        data = TenderData(
            title=spec["title"],
            description=spec["description"],
            main_category=spec.get("category", "services"),
            value_amount=Decimal(spec["value"]),
            comune_code=spec["comune"],
            deadline=deadline,
            contract_start=today + timedelta(days=spec["days"] + 30),
            contract_end=today + timedelta(days=spec["days"] + 30 + 730),
            clause_type=spec["clause"],
            reserved_execution=spec.get("reserved_execution", False),
            reserved_participation="none"
            if spec.get("reserved_execution")
            else ("res-ws" if spec["clause"] == RESERVED else "none"),
            clause_measure=spec.get("measure"),
            clause_target=Decimal(spec["target"]) if spec.get("target") else None,
            clause_base=spec.get("base"),
            premium_measures=spec.get("premium", []),
            social_standards="Applicazione del CCNL delle cooperative sociali e assorbimento "
            "del personale uscente."
            if spec["clause"] == SOCIAL_CLAUSE
            else "",
            cpv_codes=spec["codes"],
            lots=[
                LotData(lot_id=i, title=t, value_amount=Decimal(v), reserved_participation="res-ws")
                for i, t, v in spec.get("lots", [])
            ],
        )
        tender = services.create_tender(body, author, data)
        tender.ocid = spec["ocid"]
        if spec["status"] != DRAFT:
            services.publish(tender, author, today)
        if "award" in spec:
            _award(tender, author, spec["award"], today)
        created += 1
    db.session.commit()
    if created:
        echo(f"Added {created} tenders with social clauses.")


def _award(tender: Tender, author: Any, award: tuple[str, str, list[str]], today: Any) -> None:
    supplier_name, value, outcomes = award
    supplier = accounts.find_organisation(supplier_name)
    if supplier is None:
        return
    start = services.add_months(today, -9)
    contract = services.award(
        tender,
        author,
        AwardData(
            supplier_org_id=supplier.id,
            value_amount=Decimal(value),
            start_date=start,
            end_date=services.add_months(start, 24) - timedelta(days=1),
            report_every_months=3,
        ),
        today,
    )
    for (period_start, period_end), outcome in zip(
        services.periods(contract, today), outcomes, strict=False
    ):
        workers, disadvantaged, disabled, hours, hours_d, hires, hires_d, caseload = REPORT_FIGURES[
            outcome
        ]
        report = ComplianceReport(
            contract=contract,
            period_start=period_start,
            period_end=period_end,
            workers_total=workers,
            workers_disadvantaged=disadvantaged,
            workers_disabled=disabled,
            hours_total=Decimal(hours),
            hours_disadvantaged=Decimal(hours_d),
            new_hires_total=hires,
            new_hires_disadvantaged=hires_d,
            new_hires_from_caseload=caseload,
            evidence="Estratto del libro unico del lavoro (demo)",
            filed_at=utcnow() - timedelta(days=(today - period_end).days - 10),
        )
        measured, compliant = services.compute_compliance(tender, report)
        report.measured, report.compliant = measured, compliant
        report.status = outcome
        report.reviewed_at = utcnow()
        report.reviewed_by_id = author.id if author else None
        if outcome == FLAGGED:
            report.review_comment = (
                "La quota di persone svantaggiate impiegate è inferiore "
                "al 30% richiesto: inviare un piano di assunzioni."
            )
        db.session.add(report)
    db.session.flush()
