"""Thirty weeks of the demo organisation, replayed through the real rules: centres,
groups and their training, 2-2-1 first disbursements, weekly collection sheets with
penalties, a reschedule and write-offs, and individual borrowers in the remaining loan
states.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, time, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select

from microcredit import collection
from microcredit.centres import CentreData, meeting_dates, save_centre
from microcredit.demo.cast import (
    CENTRES,
    ORG_NAME,
    PRODUCTS,
    SECOND_OFFICER,
    WAVES,
    CentreSpec,
    GroupSpec,
    demo_names,
)
from microcredit.groups import group_transition, record_training, save_group
from microcredit.lending.lifecycle import (
    approve,
    disburse,
    reject,
    reschedule,
    submit_loan,
    withdraw,
    write_off,
)
from microcredit.lending.penalties import apply_penalties
from microcredit.lending.repayments import repay, reverse
from microcredit.lending.state import loan_position
from microcredit.lending.support import add_service
from microcredit.members import MemberData, save_member
from microcredit.models import (
    ACTIVE,
    DEPOSIT,
    LEADER,
    MEMBER,
    SECRETARY,
    WITHDRAWAL,
    Centre,
    Group,
    Loan,
    LoanProduct,
    Member,
)
from microcredit.money import ZERO
from microcredit.policy import policy
from microcredit.products import save_product
from microcredit.rules import local_today
from microcredit.savings import post_savings, savings_balance
from portal import accounts, db
from portal.models import MICROCREDIT_OFFICER, Organisation, User


class Story:
    """Thirty weeks of a microcredit organisation, replayed through the services."""

    def __init__(self, org: Organisation, officer: User) -> None:
        self.org, self.officer = org, officer
        self.today = local_today()
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
        return save_member(
            self.org,
            MemberData(
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
            self.products[data.name] = save_product(self.org, data, self.officer)
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
        centre = save_centre(
            self.org,
            CentreData(
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
            group = save_group(self.org, gspec.name, centre, officer, on_date=formed)
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
                lambda g=group, d=start: group_transition(g, "start_training", d, officer),
            )
            for k in range(sessions):
                day = start + timedelta(days=7 * k)
                self.at(
                    day,
                    1,
                    lambda g=group, d=day, ms=members, k=k: record_training(
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
                lambda g=group, d=recognised: group_transition(g, "recognise", d, officer),
            )
            if gspec.state == "closed":
                close_on = anchor + timedelta(days=42)
                self.at(
                    close_on,
                    5,
                    lambda g=group, d=close_on: group_transition(
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
                lambda g=group, d=recognised: post_savings(
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
                    lambda g=group, d=day: group_transition(
                        g, "suspend", d, officer, "Ritardi ripetuti: incontro di chiarimento."
                    ),
                )
        behaviour = {
            m.id: b
            for gspec, _g, ms in groups
            for m, b in zip(ms, gspec.behaviours or ["none"] * len(ms), strict=False)
        }
        meetings = meeting_dates(centre, anchor, self.today - timedelta(days=1))
        for week, day in enumerate(meetings):
            self.at(
                day, 4, lambda d=day, w=week: self.meeting(centre, d, w, behaviour, officer, loans)
            )
        if spec is CENTRES[0]:
            # Second cycle for two members of the first group, their first loans repaid.
            first = groups[0][2]
            ask_on = anchor + timedelta(days=7 * 28)
            self.at(ask_on, 7, lambda: self.second_cycle(first[1], officer, ask_on, approved=False))
            self.at(ask_on, 7, lambda: self.second_cycle(first[2], officer, ask_on, approved=True))

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
            loan = submit_loan(
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
            add_service(
                loan, "household_budget", "Sportello bilancio familiare", applied, None, "", officer
            )
            approve(loan, applied, officer)
            loans[member.id] = loan

        self.at(applied, 3, apply)
        self.at(disbursed, 3, lambda: disburse(loans[member.id], disbursed, officer))

    def meeting(
        self,
        centre: Centre,
        day: date,
        week: int,
        behaviour: dict[int, str],
        officer: User,
        loans: dict[int, Loan],
    ) -> None:
        apply_penalties(self.org.id, day, officer)
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
                write_off(loan, day, officer, "Irreperibile da quattro mesi; pratica al legale.")
            if kind == "reschedule" and week == 16 and loan.status == ACTIVE:
                loans[member_id] = reschedule(
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

    def second_cycle(self, member: Member, officer: User, day: date, approved: bool) -> None:
        product = self.products["Microcredito sociale di gruppo"]
        loan = submit_loan(
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
        if approved:
            add_service(loan, "financial_education", "Banca del tempo", day, None, "", officer)
            approve(loan, day, officer)

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
            loan = submit_loan(
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
                add_service(loan, kind, "Ente di tutoraggio Pordenone", day, None, "", officer)
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
        approve(loan, today - timedelta(days=5), officer)
        loan = application(
            social,
            "6000.00",
            36,
            today - timedelta(days=25),
            "Consolidamento di debiti",
            ["household_budget"],
        )
        reject(
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
        withdraw(loan, today - timedelta(days=40), officer, "Ha ottenuto un contributo regionale.")

        day = today - timedelta(days=200)
        loan = application(
            business,
            "20000.00",
            60,
            day,
            "Laboratorio di ceramica",
            ["strategy", "pricing_marketing"],
        )
        approve(loan, day, officer)
        disburse(loan, day + timedelta(days=2), officer)
        self.pay_when_due(loan)
        # A repayment typed twice by mistake, corrected by a reversal (never a deletion).
        twice = repay(loan, Decimal("100.00"), today - timedelta(days=2), officer)
        reverse(twice, officer, "Registrato due volte per errore.")

        day = today - timedelta(days=190)
        loan = application(social, "1200.00", 6, day, "Cure dentistiche", ["household_budget"])
        approve(loan, day, officer)
        disburse(loan, day + timedelta(days=1), officer)
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
        approve(loan, day, officer)
        disburse(loan, day + timedelta(days=1), officer)
        self.pay_when_due(loan, stop_after=2)
        write_off(
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
        if saver is not None and savings_balance(saver.group_id, saver.id) >= 10:
            post_savings(
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
            due = loan_position(loan, slot.due_date).due_now
            amount = due + (extra_last if number == len(slots) else ZERO)
            if amount > 0 and loan.status == ACTIVE:
                repay(loan, amount, slot.due_date, self.officer)
