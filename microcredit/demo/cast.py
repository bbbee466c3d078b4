"""Who and what the demo is made of: the organisation and its officers, the people's
names, the three loan products, and the centres with their groups, each group's state
and how each member repays (on time, late, partly, not at all...).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from microcredit.products import ProductData

ORG_NAME = "Microcredito Solidale Friuli"
OFFICER_EMAIL = "microcredit@ponte.demo"
SECOND_OFFICER = ("microcredit.sacile@ponte.demo", "Matteo Zanier")

FIRST_NAMES = [
    "Giulia",
    "Francesca",
    "Sara",
    "Elena",
    "Chiara",
    "Martina",
    "Valentina",
    "Anna",
    "Laura",
    "Silvia",
    "Paola",
    "Marta",
    "Fatima",
    "Amina",
    "Mariam",
    "Aisha",
    "Ioana",
    "Elena",
    "Olena",
    "Natalia",
    "Blessing",
    "Grace",
    "Joy",
    "Mercy",
    "Marco",
    "Luca",
    "Andrea",
    "Matteo",
    "Davide",
    "Stefano",
    "Paolo",
    "Giorgio",
    "Ahmed",
    "Mohamed",
    "Youssef",
    "Ion",
    "Mihai",
    "Kofi",
    "Emeka",
    "Samuel",
    "Rajesh",
    "Arjun",
]
SURNAMES = [
    "Bortolin",
    "Zanin",
    "Colussi",
    "Furlan",
    "DelBen",
    "Santarossa",
    "Pasut",
    "Cimolai",
    "Zanette",
    "Marson",
    "Bianchi",
    "Rossi",
    "Moras",
    "Fabris",
    "Tonon",
    "ElAmrani",
    "Benali",
    "Haddad",
    "Popescu",
    "Ionescu",
    "Kovalenko",
    "Shevchenko",
    "Okafor",
    "Mensah",
    "Adeyemi",
    "Singh",
    "Kumar",
    "Sharma",
    "Nowak",
    "Hoxha",
]

PRODUCTS = [
    ProductData(
        name="Microcredito sociale di gruppo",
        kind="social",
        min_principal=Decimal("300.00"),
        max_principal=Decimal("3000.00"),
        interest_rate=Decimal("8.000000"),
        min_repayments=10,
        max_repayments=52,
        default_repayments=25,
        frequency="weekly",
        late_penalty=Decimal("2.00"),
        penalty_after_days=7,
        group_lending=True,
        enforce_221=True,
        description="Prestiti settimanali a membri di gruppi solidali, con educazione "
        "finanziaria e sostegno al bilancio familiare.",
    ),
    ProductData(
        name="Microcredito d'impresa",
        kind="business",
        min_principal=Decimal("5000.00"),
        max_principal=Decimal("40000.00"),
        interest_rate=Decimal("6.000000"),
        min_repayments=12,
        max_repayments=84,
        default_repayments=60,
        frequency="monthly",
        amortization="equal_principal",
        grace_on_principal=3,
        disbursement_fee=Decimal("50.00"),
        group_lending=False,
        enforce_221=False,
        description="Avvio o sviluppo di microimprese e lavoro autonomo, con tutoraggio "
        "(DM 176/2014, art. 3).",
    ),
    ProductData(
        name="Microcredito sociale individuale",
        kind="social",
        min_principal=Decimal("500.00"),
        max_principal=Decimal("10000.00"),
        interest_rate=Decimal("4.000000"),
        min_repayments=6,
        max_repayments=60,
        default_repayments=24,
        frequency="monthly",
        interest_method="flat",
        group_lending=False,
        enforce_221=False,
        description="Spese impreviste, casa, salute e formazione per persone in "
        "difficoltà economica.",
    ),
]


@dataclass
class GroupSpec:
    name: str
    #: forming, training, active, suspended, closed; "ready": recognised, no loan yet
    #: (the group application is still to be made).
    state: str
    behaviours: list[str] = field(default_factory=list)
    size: int = 5


@dataclass
class CentreSpec:
    name: str
    place: str
    comune: str
    days_back: int
    second_officer: bool
    groups: list[GroupSpec]


CENTRES = [
    CentreSpec(
        "Centro Borgomeduna",
        "Sala parrocchiale, Via Udine 12",
        "093033",
        210,
        False,
        [
            GroupSpec("Il Ponte", "active", ["on_time", "on_time", "on_time", "late", "on_time"]),
            GroupSpec("Le Viole", "active", ["on_time", "partial", "on_time", "on_time", "missed"]),
            GroupSpec(
                "Il Girasole", "active", ["late", "on_time", "on_time", "on_time", "on_time"]
            ),
            GroupSpec("Le Rondini", "training", size=5),
            GroupSpec("Le Api", "forming", size=3),
            GroupSpec("Le Farfalle", "ready"),
        ],
    ),
    CentreSpec(
        "Centro Cordenons",
        "Centro civico, Piazza della Vittoria 1",
        "093017",
        208,
        True,
        [
            GroupSpec("Il Noce", "suspended", ["on_time", "missed", "late", "on_time", "missed"]),
            GroupSpec(
                "Le Querce", "active", ["on_time", "reschedule", "on_time", "on_time", "on_time"]
            ),
        ],
    ),
    CentreSpec(
        "Centro Sacile",
        "Biblioteca civica, Viale Zancanaro 5",
        "093037",
        212,
        True,
        [
            GroupSpec("I Gelsi", "active", ["on_time", "write_off", "on_time", "late", "on_time"]),
            GroupSpec("Le Margherite", "closed", ["none"] * 5),
        ],
    ),
]

#: Position in a group -> (first-disbursement week, principal): 2-2-1, the leader last.
WAVES = {
    1: (1, Decimal("1500.00")),
    2: (1, Decimal("1500.00")),
    3: (5, Decimal("1200.00")),
    4: (5, Decimal("1200.00")),
    0: (9, Decimal("1000.00")),
}


def demo_names() -> list[str]:
    rng = random.Random(2014)
    pairs = [
        f"{f} {s.replace('DelBen', 'Del Ben').replace('ElAmrani', 'El Amrani')}"
        for f in FIRST_NAMES
        for s in SURNAMES
    ]
    rng.shuffle(pairs)
    return pairs
