"""Demo data for microcredit (idempotent), for "Microcredito Solidale Friuli".

Small scale: three centres in the province of Pordenone with groups in every state,
thirty weeks of meetings replayed through the real services (collection sheets, 2-2-1
first disbursements, penalties, a reschedule, write-offs) so loans carry histories of
on-time, late and missed repayments, and individual borrowers with loans in the remaining
states. The first centre meets today, and today's sheet is left to fill in.

Large scale adds 10,000 group loans (250 centres of 8 groups of 5) written in bulk, for
the PAR30 benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import func, insert, select

from microcredit import collection, services
from microcredit.models import (
    ACTIVE,
    ACTIVE_GROUP,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_WRITTEN_OFF,
    DEPOSIT,
    DISBURSEMENT,
    LEADER,
    MEMBER,
    REPAYMENT,
    SECRETARY,
    WITHDRAWAL,
    WRITE_OFF,
    Centre,
    Group,
    Loan,
    LoanInstallment,
    LoanProduct,
    LoanTransaction,
    Member,
    TrainingAttendance,
    TrainingSession,
)
from microcredit.money import ZERO
from microcredit.policy import policy
from microcredit.schedule import Schedule, Terms, build_schedule
from portal import accounts, db
from portal.models import MICROCREDIT_OFFICER, Organisation, User

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
    services.ProductData(
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
    services.ProductData(
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
    services.ProductData(
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


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    org = accounts.find_organisation(ORG_NAME)
    officer = accounts.find_user(OFFICER_EMAIL)
    if org is None or officer is None:
        return
    if (
        db.session.execute(
            select(Centre.id).where(
                Centre.organisation_id == org.id, Centre.name == CENTRES[0].name
            )
        ).first()
        is None
    ):
        Story(org, officer).run()
        db.session.commit()
        echo("Microcredit: centres, groups, members and loans with their histories added.")
    if scale == "large":
        seed_large(org, officer, echo)


def demo_names() -> list[str]:
    rng = random.Random(2014)
    pairs = [
        f"{f} {s.replace('DelBen', 'Del Ben').replace('ElAmrani', 'El Amrani')}"
        for f in FIRST_NAMES
        for s in SURNAMES
    ]
    rng.shuffle(pairs)
    return pairs


class Story:
    """Thirty weeks of a microcredit organisation, replayed through the services."""

    def __init__(self, org: Organisation, officer: User) -> None:
        self.org, self.officer = org, officer
        self.today = services.local_today()
        self.rng = random.Random(176)  # DM 176/2014
        self.events: list[tuple[date, int, Callable[[], None]]] = []
        self.names = demo_names()
        self.second = self._second_officer()
        self.products: dict[str, LoanProduct] = {}

    def _second_officer(self) -> User:
        email, name = SECOND_OFFICER
        user = accounts.find_user(email)
        if user is None:
            user = accounts.create_user(
                email, None, MICROCREDIT_OFFICER, org_name=ORG_NAME, full_name=name, locale="it"
            )
            user.password_hash = self.officer.password_hash
            db.session.flush()
        return user

    def at(self, day: date, order: int, action: Callable[[], None]) -> None:
        if day <= self.today:
            self.events.append((day, order, action))

    def member(self, group: Group | None, role: str = MEMBER, joined: date | None = None) -> Member:
        name = self.names.pop()
        joined = joined or self.today
        return services.save_member(
            self.org,
            services.MemberData(
                full_name=name,
                consent_on=joined,
                joined_on=joined,
                group_role=role,
                consent_purpose="Microcredito: istruttoria, gestione del prestito, tutoraggio.",
                phone=f"+39 3{self.rng.randint(20, 49)} {self.rng.randint(100, 999)} "
                f"{self.rng.randint(1000, 9999)}",
                comune_code="093033",
            ),
            self.officer,
            group=group,
        )

    def run(self) -> None:
        for data in PRODUCTS:
            self.products[data.name] = services.save_product(self.org, data, self.officer)
        for spec in CENTRES:
            self.centre(spec)
        self.events.sort(key=lambda e: (e[0], e[1]))
        for done, (_day, _order, action) in enumerate(self.events, start=1):
            action()
            if done % 40 == 0:
                db.session.commit()
        self.individuals()

    # --- Centres and their groups ----------------------------------------------------------

    def centre(self, spec: CentreSpec) -> None:
        anchor = self.today - timedelta(days=spec.days_back)
        officer = self.second if spec.second_officer else self.officer
        centre = services.save_centre(
            self.org,
            services.CentreData(
                name=spec.name,
                first_meeting_on=anchor,
                meeting_time=time(9, 30),
                meeting_place=spec.place,
                comune_code=spec.comune,
                officer_id=officer.id,
            ),
            self.officer,
        )
        loans: dict[int, Loan] = {}
        groups: list[tuple[GroupSpec, Group, list[Member]]] = []
        for gspec in spec.groups:
            formed = (
                self.today - timedelta(days=10)
                if gspec.state == "forming"
                else anchor - timedelta(days=49)
            )
            group = services.save_group(self.org, gspec.name, centre, officer, on_date=formed)
            members = [
                self.member(group, LEADER if i == 0 else SECRETARY if i == 1 else MEMBER, formed)
                for i in range(gspec.size)
            ]
            groups.append((gspec, group, members))
            if gspec.state == "forming":
                continue
            sessions = 3 if gspec.state == "training" else policy().training_sessions_required
            start = (
                self.today - timedelta(days=7 * sessions + 1)
                if gspec.state == "training"
                else anchor - timedelta(days=42)
            )
            self.at(
                start,
                0,
                lambda g=group, d=start: services.group_transition(g, "start_training", d, officer),
            )
            for k in range(sessions):
                day = start + timedelta(days=7 * k)
                self.at(
                    day,
                    1,
                    lambda g=group, d=day, ms=members, k=k: services.record_training(
                        g,
                        d,
                        f"Formazione di gruppo {k + 1}: regole, risparmio, responsabilità "
                        "reciproca",
                        [m.id for m in ms],
                        officer,
                    ),
                )
            if gspec.state == "training":
                continue
            recognised = anchor - timedelta(days=7)
            self.at(
                recognised,
                2,
                lambda g=group, d=recognised: services.group_transition(g, "recognise", d, officer),
            )
            if gspec.state == "closed":
                close_on = anchor + timedelta(days=42)
                self.at(
                    close_on,
                    5,
                    lambda g=group, d=close_on: services.group_transition(
                        g,
                        "close",
                        d,
                        officer,
                        "Il gruppo si è sciolto: due componenti si sono trasferite.",
                    ),
                )
                continue
            self.at(
                recognised,
                3,
                lambda g=group, d=recognised: services.post_savings(
                    g, None, DEPOSIT, Decimal("25.00"), d, officer, note="Fondo di gruppo"
                ),
            )
            if gspec.state == "ready":
                continue
            for index, member in enumerate(members):
                week, amount = WAVES[index]
                self.loan_plan(centre, officer, member, anchor, week, amount, loans)
            if gspec.state == "suspended":
                day = anchor + timedelta(days=7 * 24)
                self.at(
                    day,
                    6,
                    lambda g=group, d=day: services.group_transition(
                        g, "suspend", d, officer, "Ritardi ripetuti: incontro di chiarimento."
                    ),
                )
        behaviour = {
            m.id: b
            for gspec, _g, ms in groups
            for m, b in zip(ms, gspec.behaviours or ["none"] * len(ms), strict=False)
        }
        meetings = services.meeting_dates(centre, anchor, self.today - timedelta(days=1))
        for week, day in enumerate(meetings):
            self.at(
                day, 4, lambda d=day, w=week: self.meeting(centre, d, w, behaviour, officer, loans)
            )
        if spec is CENTRES[0]:
            # Second cycle for two members of the first group, their first loans repaid.
            first = groups[0][2]
            ask_on = anchor + timedelta(days=7 * 28)
            self.at(ask_on, 7, lambda: self.second_cycle(first[1], officer, ask_on, approve=False))
            self.at(ask_on, 7, lambda: self.second_cycle(first[2], officer, ask_on, approve=True))

    def loan_plan(
        self,
        centre: Centre,
        officer: User,
        member: Member,
        anchor: date,
        week: int,
        amount: Decimal,
        loans: dict[int, Loan],
    ) -> None:
        product = self.products["Microcredito sociale di gruppo"]
        applied = anchor + timedelta(days=7 * (week - 1))
        disbursed = anchor + timedelta(days=7 * week)

        def apply() -> None:
            loan = services.submit_loan(
                member,
                product,
                amount,
                25,
                disbursed,
                "Piccole spese familiari e avvio attività",
                officer.id,
                officer,
                applied,
            )
            services.add_service(
                loan, "household_budget", "Sportello bilancio familiare", applied, None, "", officer
            )
            services.approve(loan, applied, officer)
            loans[member.id] = loan

        self.at(applied, 3, apply)
        self.at(disbursed, 3, lambda: services.disburse(loans[member.id], disbursed, officer))

    def meeting(
        self,
        centre: Centre,
        day: date,
        week: int,
        behaviour: dict[int, str],
        officer: User,
        loans: dict[int, Loan],
    ) -> None:
        services.apply_penalties(self.org.id, day, officer)
        sheet = collection.build_sheet(centre, day)
        amounts: dict[int, str] = {}
        savings: dict[int, str] = {}
        attendance: dict[int, str] = {}
        for group in sheet.groups:
            for row in group.members:
                kind = behaviour.get(row.member.id, "on_time")
                paid_any = False
                for sheet_loan in row.loans:
                    if not sheet_loan.open:
                        continue
                    due = sheet_loan.position.due_now
                    amount = self.pays(kind, week, due, sheet_loan.loan)
                    if amount > 0:
                        amounts[sheet_loan.loan.id] = f"{amount:.2f}"
                        paid_any = True
                present = paid_any or kind in ("on_time", "none") or self.rng.random() < 0.5
                attendance[row.member.id] = (
                    "present" if present else self.rng.choice(["absent", "excused"])
                )
                if present and kind != "none" and group.group.status != "training":
                    savings[row.member.id] = "2.00"
        collection.save_sheet(centre, day, sheet.version, amounts, savings, attendance, officer)
        for member_id, kind in behaviour.items():
            loan = loans.get(member_id)
            if loan is None:
                continue
            if kind == "write_off" and week == 24 and loan.status == ACTIVE:
                services.write_off(
                    loan, day, officer, "Irreperibile da quattro mesi; pratica al legale."
                )
            if kind == "reschedule" and week == 16 and loan.status == ACTIVE:
                loans[member_id] = services.reschedule(
                    loan, day, 30, officer, "Perdita del lavoro: rata ridotta concordata."
                )

    @staticmethod
    def pays(kind: str, week: int, due: Decimal, loan: Loan) -> Decimal:
        if due <= 0 or kind == "none":
            return ZERO
        if week < 10:  # everyone repays on time while the 2-2-1 waves go out
            return due
        if kind == "late":
            return due if week % 3 == 0 else ZERO
        if kind == "partial":
            return (due * Decimal("0.6")).quantize(Decimal("0.5"), rounding=ROUND_DOWN)
        if kind in ("missed", "write_off"):
            return due if week < 12 else ZERO
        if kind == "reschedule":
            if loan.rescheduled_from_id:
                return due
            return (due / 2).quantize(Decimal("0.01"))
        return due

    def second_cycle(self, member: Member, officer: User, day: date, approve: bool) -> None:
        product = self.products["Microcredito sociale di gruppo"]
        loan = services.submit_loan(
            member,
            product,
            Decimal("2000.00"),
            30,
            day + timedelta(days=14),
            "Secondo ciclo: attrezzatura",
            officer.id,
            officer,
            day,
        )
        if approve:
            services.add_service(
                loan, "financial_education", "Banca del tempo", day, None, "", officer
            )
            services.approve(loan, day, officer)

    # --- Individual borrowers ---------------------------------------------------------------

    def individuals(self) -> None:
        """Individual borrowers (no group), booked in date order, one loan at a time."""
        today, officer = self.today, self.officer
        business = self.products["Microcredito d'impresa"]
        social = self.products["Microcredito sociale individuale"]

        def application(
            product: LoanProduct, amount: str, reps: int, day: date, purpose: str, kinds: list[str]
        ) -> Loan:
            member = self.member(None, joined=day)
            loan = services.submit_loan(
                member,
                product,
                Decimal(amount),
                reps,
                day + timedelta(days=7),
                purpose,
                officer.id,
                officer,
                day,
            )
            for kind in kinds:
                services.add_service(
                    loan, kind, "Ente di tutoraggio Pordenone", day, None, "", officer
                )
            return loan

        loan = application(
            business,
            "15000.00",
            60,
            today - timedelta(days=3),
            "Apertura di una sartoria",
            ["strategy", "management_training"],
        )
        loan = application(
            social,
            "1800.00",
            18,
            today - timedelta(days=10),
            "Deposito cauzionale per l'affitto",
            ["household_budget"],
        )
        services.approve(loan, today - timedelta(days=5), officer)
        loan = application(
            social,
            "6000.00",
            36,
            today - timedelta(days=25),
            "Consolidamento di debiti",
            ["household_budget"],
        )
        services.reject(
            loan,
            today - timedelta(days=20),
            officer,
            "Sovraindebitamento: indirizzata allo sportello OCC.",
        )
        loan = application(
            business,
            "9000.00",
            48,
            today - timedelta(days=45),
            "Furgone per consegne",
            ["strategy", "legal_tax"],
        )
        services.withdraw(
            loan, today - timedelta(days=40), officer, "Ha ottenuto un contributo regionale."
        )

        day = today - timedelta(days=200)
        loan = application(
            business,
            "20000.00",
            60,
            day,
            "Laboratorio di ceramica",
            ["strategy", "pricing_marketing"],
        )
        services.approve(loan, day, officer)
        services.disburse(loan, day + timedelta(days=2), officer)
        self.pay_when_due(loan)
        # A repayment typed twice by mistake, corrected by a reversal (never a deletion).
        twice = services.repay(loan, Decimal("100.00"), today - timedelta(days=2), officer)
        services.reverse(twice, officer, "Registrato due volte per errore.")

        day = today - timedelta(days=190)
        loan = application(social, "1200.00", 6, day, "Cure dentistiche", ["household_budget"])
        services.approve(loan, day, officer)
        services.disburse(loan, day + timedelta(days=1), officer)
        self.pay_when_due(loan, extra_last=Decimal("10.00"))

        day = today - timedelta(days=330)
        loan = application(
            social,
            "2400.00",
            12,
            day,
            "Arretrati delle utenze",
            ["household_budget", "financial_education"],
        )
        services.approve(loan, day, officer)
        services.disburse(loan, day + timedelta(days=1), officer)
        self.pay_when_due(loan, stop_after=2)
        services.write_off(
            loan,
            today - timedelta(days=30),
            officer,
            "Famiglia senza reddito dopo la perdita del lavoro.",
        )

        # A member takes some of her savings out for school books.
        saver = (
            db.session.execute(
                select(Member)
                .join(Group)
                .where(
                    Group.organisation_id == self.org.id, Group.name == CENTRES[0].groups[0].name
                )
                .order_by(Member.id)
            )
            .scalars()
            .first()
        )
        if saver is not None and services.savings_balance(saver.group_id, saver.id) >= 10:
            services.post_savings(
                saver.group,
                saver,
                WITHDRAWAL,
                Decimal("10.00"),
                today - timedelta(days=1),
                officer,
                note="Libri di scuola",
            )

    def pay_when_due(self, loan: Loan, *, extra_last: Decimal = ZERO, stop_after: int = 0) -> None:
        """Pay each instalment on its due date, up to today."""
        slots = list(loan.installments)
        for number, slot in enumerate(slots, start=1):
            if (stop_after and number > stop_after) or slot.due_date > self.today:
                break
            due = services.loan_position(loan, slot.due_date).due_now
            amount = due + (extra_last if number == len(slots) else ZERO)
            if amount > 0 and loan.status == ACTIVE:
                services.repay(loan, amount, slot.due_date, self.officer)


# --- Large scale: 10,000 loans for the benchmark -----------------------------------------------


def seed_large(
    org: Organisation, officer: User, echo: Callable[[str], Any], target: int = 10_000
) -> None:
    existing = db.session.execute(
        select(func.count()).select_from(Loan).where(Loan.organisation_id == org.id)
    ).scalar_one()
    missing = target - existing
    if missing <= 0:
        return
    product = (
        db.session.execute(
            select(LoanProduct).where(
                LoanProduct.organisation_id == org.id,
                LoanProduct.frequency == "weekly",
                LoanProduct.group_lending.is_(True),
            )
        )
        .scalars()
        .first()
    )
    if product is None:
        return
    officers = [u.id for u in services.org_officers(org.id)] or [officer.id]
    rng = random.Random(111)  # art. 111 TUB
    today = services.local_today()
    names = demo_names()
    first_centre = (
        db.session.execute(
            select(func.count()).select_from(Centre).where(Centre.organisation_id == org.id)
        ).scalar_one()
        + 1
    )
    member_base = db.session.execute(
        select(func.count()).select_from(Member).where(Member.organisation_id == org.id)
    ).scalar_one()
    schedules: dict[tuple[Decimal, date], Schedule] = {}
    centres_needed = -(-missing // 40)
    made = 0
    for c in range(centres_needed):
        anchor = today - timedelta(days=7 * rng.randint(30, 56) + rng.randint(0, 6))
        centre_id = db.session.execute(
            insert(Centre).returning(Centre.id),
            [
                {
                    "organisation_id": org.id,
                    "name": f"Centro territoriale {first_centre + c:03d}",
                    "meeting_place": "Sala comunale",
                    "comune_code": "093033",
                    "meeting_time": time(9, 0),
                    "meeting_frequency": "weekly",
                    "first_meeting_on": anchor,
                    "officer_id": officers[c % len(officers)],
                    "active": True,
                }
            ],
        ).scalar_one()
        group_ids = (
            db.session.execute(
                insert(Group).returning(Group.id),
                [
                    {
                        "organisation_id": org.id,
                        "centre_id": centre_id,
                        "name": f"Gruppo {first_centre + c:03d}-{g + 1}",
                        "status": ACTIVE_GROUP,
                        "formed_on": anchor - timedelta(days=49),
                        "training_started_on": anchor - timedelta(days=42),
                        "recognised_on": anchor - timedelta(days=7),
                    }
                    for g in range(8)
                ],
            )
            .scalars()
            .all()
        )
        member_rows = []
        for g, group_id in enumerate(group_ids):
            for i in range(5):
                member_base += 1
                member_rows.append(
                    {
                        "organisation_id": org.id,
                        "group_id": group_id,
                        "group_role": LEADER if i == 0 else SECRETARY if i == 1 else MEMBER,
                        "number": f"L{member_base:06d}",
                        "full_name": names[(member_base * 7 + g) % len(names)],
                        "fiscal_code": "",
                        "phone": "",
                        "comune_code": "093033",
                        "consent_on": anchor - timedelta(days=49),
                        "consent_purpose": "Microcredito",
                        "consent_until": anchor + timedelta(days=5 * 365),
                        "joined_on": anchor - timedelta(days=49),
                    }
                )
        member_ids = (
            db.session.execute(insert(Member).returning(Member.id), member_rows).scalars().all()
        )
        sessions = db.session.execute(
            insert(TrainingSession).returning(TrainingSession.id, TrainingSession.group_id),
            [
                {
                    "group_id": group_id,
                    "held_on": anchor - timedelta(days=42 - 7 * k),
                    "topic": f"Formazione di gruppo {k + 1}",
                }
                for group_id in group_ids
                for k in range(5)
            ],
        ).all()
        members_of = {gid: member_ids[n * 5 : (n + 1) * 5] for n, gid in enumerate(group_ids)}
        db.session.execute(
            insert(TrainingAttendance),
            [
                {"session_id": sid, "member_id": mid}
                for sid, gid in sessions
                for mid in members_of[gid]
            ],
        )
        loan_rows, plans = [], []
        for n, member_id in enumerate(member_ids):
            if made >= missing:
                break
            made += 1
            position = n % 5
            week, principal = WAVES[position]
            principal = principal + Decimal(100 * rng.randint(0, 5))
            disbursed = anchor + timedelta(days=7 * week)
            if disbursed > today:
                disbursed = today - timedelta(days=7)
            key = (principal, disbursed)
            if key not in schedules:
                schedules[key] = build_schedule(
                    Terms(
                        principal=principal,
                        interest_rate=product.interest_rate,
                        repayments=25,
                        disbursement_date=disbursed,
                        frequency="weekly",
                        days_in_year=product.days_in_year,
                    )
                )
            loan_rows.append(
                {
                    "organisation_id": org.id,
                    "member_id": member_id,
                    "group_id": group_ids[n // 5],
                    "centre_id": centre_id,
                    "product_id": product.id,
                    "officer_id": officers[c % len(officers)],
                    "kind": product.kind,
                    "status": ACTIVE,
                    "cycle": 1,
                    "principal": principal,
                    "repayments": 25,
                    "frequency": "weekly",
                    "interest_rate": product.interest_rate,
                    "interest_rate_period": "year",
                    "interest_method": product.interest_method,
                    "amortization": product.amortization,
                    "interest_calculation": product.interest_calculation,
                    "days_in_year": product.days_in_year,
                    "grace_on_principal": 0,
                    "allocation_order": product.allocation_order,
                    "rounding": policy().rounding,
                    "purpose": "Attività generatrice di reddito",
                    "submitted_on": disbursed - timedelta(days=7),
                    "expected_disbursement_on": disbursed,
                    "approved_on": disbursed - timedelta(days=3),
                    "disbursed_on": disbursed,
                    "wave": 1 if position in (1, 2) else 2 if position in (3, 4) else 3,
                    "created_by_id": officer.id,
                }
            )
            plans.append((schedules[key], _behaviour(rng)))
        loan_ids = db.session.execute(insert(Loan).returning(Loan.id), loan_rows).scalars().all()
        _bulk_history(loan_ids, plans, today, officer.id, rng)
        if c % 25 == 24:
            db.session.commit()
    db.session.commit()
    echo(f"Microcredit: added {made} loans for the benchmarks.")


def _behaviour(rng: random.Random) -> tuple[str, int]:
    r = rng.random()
    if r < 0.80:
        return "on_time", 0
    if r < 0.90:
        return "late", rng.choice([7, 14, 21])
    if r < 0.97:
        return "stopped", rng.randint(2, 12)
    return "written_off", rng.randint(2, 8)


def _bulk_history(
    loan_ids: list[int],
    plans: list[tuple[Schedule, tuple[str, int]]],
    today: date,
    officer_id: int,
    rng: random.Random,
) -> None:
    installments: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    closing: dict[int, tuple[str, date]] = {}
    for loan_id, (schedule, (kind, value)) in zip(loan_ids, plans, strict=True):
        start = schedule.terms.disbursement_date
        entries.append(
            _entry(loan_id, DISBURSEMENT, start, officer_id, principal=schedule.terms.principal)
        )
        cumulative_p = cumulative_t = ZERO
        paid_p = paid_i = ZERO
        last_paid = start
        for item in schedule.installments:
            cumulative_p += item.principal
            cumulative_t += item.total
            installments.append(
                {
                    "loan_id": loan_id,
                    "number": item.number,
                    "due_date": item.due_date,
                    "principal": item.principal,
                    "interest": item.interest,
                    "cumulative_principal": cumulative_p,
                    "cumulative_total": cumulative_t,
                }
            )
            lag = value if kind == "late" else 0
            pay_on = item.due_date + timedelta(days=lag)
            if kind in ("stopped", "written_off") and item.number > value:
                continue
            if pay_on > today:
                continue
            entries.append(
                _entry(
                    loan_id,
                    REPAYMENT,
                    pay_on,
                    officer_id,
                    principal=item.principal,
                    interest=item.interest,
                )
            )
            paid_p += item.principal
            paid_i += item.interest
            last_paid = max(last_paid, pay_on)
        if paid_p == schedule.terms.principal:
            closing[loan_id] = (CLOSED_OBLIGATIONS_MET, last_paid)
        elif kind == "written_off":
            off = last_paid + timedelta(days=120)
            if off <= today:
                entries.append(
                    _entry(
                        loan_id,
                        WRITE_OFF,
                        off,
                        officer_id,
                        principal=schedule.terms.principal - paid_p,
                        interest=schedule.total_interest - paid_i,
                    )
                )
                closing[loan_id] = (CLOSED_WRITTEN_OFF, off)
    for start in range(0, len(installments), 5000):
        db.session.execute(insert(LoanInstallment), installments[start : start + 5000])
    for start in range(0, len(entries), 5000):
        db.session.execute(insert(LoanTransaction), entries[start : start + 5000])
    for loan_id, (status, on) in closing.items():
        db.session.execute(
            Loan.__table__.update()
            .where(Loan.__table__.c.id == loan_id)
            .values(status=status, closed_on=on)
        )


def _entry(
    loan_id: int,
    kind: str,
    on: date,
    officer_id: int,
    *,
    principal: Decimal = ZERO,
    interest: Decimal = ZERO,
) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "kind": kind,
        "sign": 1,
        "on_date": on,
        "amount": principal + interest,
        "principal": principal,
        "interest": interest,
        "fee": ZERO,
        "penalty": ZERO,
        "overpayment": ZERO,
        "note": "",
        "created_by_id": officer_id,
    }
