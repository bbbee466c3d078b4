"""Eligibility and compliance arithmetic: threshold edges (29.9%, 30%), per head as an
annual average, CPV prefix hierarchy, territory, reporting periods, clause checks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from brokerage.tenders import cpv, services
from brokerage.tenders.models import (
    CONVENTION,
    PREMIUM,
    RESERVED,
    SOCIAL_CLAUSE,
    ComplianceReport,
    WorkforceDeclaration,
    cpv_prefix,
    shown_percent,
)
from brokerage.tenders.services import (
    ReportData,
    SupplierFacts,
    TenderData,
    TenderError,
    TenderFacts,
)
from tests.brokerage.test_tenders_factories import (
    make_contract,
    make_officer,
    make_supplier,
    make_tender,
    today,
)

# --- Shares: computed per head, compared exactly -------------------------------------------


def declaration(total: str, **counts: str) -> WorkforceDeclaration:
    d = WorkforceDeclaration(organisation_id=1, year=2025, total_workers=Decimal(total))
    for name in (
        "disabled",
        "psychiatric",
        "addiction",
        "minors",
        "prisoners",
        "other_disadvantaged",
    ):
        setattr(d, name, Decimal(counts.get(name, "0")))
    return d


def test_l381_share_counts_art4_categories_per_head():
    d = declaration("20", disabled="3", psychiatric="1.98", addiction="1")
    assert d.l381_share == Decimal("29.9")
    assert shown_percent(d.l381_share) == "29.9%"
    d = declaration("20", disabled="3", psychiatric="2", addiction="1")
    assert d.l381_share == Decimal("30")


def test_art61_share_adds_other_disadvantaged_but_l381_does_not():
    d = declaration("10", disabled="2", other_disadvantaged="1")
    assert d.l381_share == Decimal("20")
    assert d.art61_share == Decimal("30")


def test_shown_share_never_rounds_up_to_the_threshold():
    assert shown_percent(Decimal("29.96")) == "29.9%"
    assert shown_percent(None) == "—"


def test_annual_average_of_monthly_head_counts():
    # 10 people all year, 2 more for six months: 11 per head on average.
    assert services.annual_average([10] * 6 + [12] * 6) == Decimal("11.00")
    # A disadvantaged worker hired in July counts as half a head.
    assert services.annual_average([0] * 6 + [1] * 6) == Decimal("0.50")
    with pytest.raises(ValueError):
        services.annual_average([1] * 13)
    with pytest.raises(ValueError):
        services.annual_average([1, -1])


def facts(
    share: str | None,
    *,
    kind: str = "cooperative_b",
    codes: tuple[str, ...] = ("77310000",),
    year: int = 2025,
    l381: str | None = None,
    **extra: object,
) -> SupplierFacts:
    return SupplierFacts(
        org_id=1,
        name="Coop",
        slug="coop",
        kind=kind,
        verified=extra.pop("verified", True),
        register_reference=extra.pop("register", "A1"),
        register_valid_until=extra.pop("valid_until", None),
        comune_code=extra.pop("comune", "093033"),
        province=extra.pop("province", "PN"),
        region=extra.pop("region", "Friuli-Venezia Giulia"),
        capabilities=list(codes),
        territories=set(extra.pop("territories", set())),
        declaration_year=year if share is not None else None,
        art61_share=Decimal(share) if share is not None else None,
        l381_share=Decimal(l381 if l381 is not None else share) if share is not None else None,
    )


def tender_facts(
    clause: str = RESERVED,
    codes: tuple[str, ...] = ("77310000",),
    threshold: str | None = "30",
    comune: str | None = "093033",
    province: str | None = "PN",
) -> TenderFacts:
    return TenderFacts(
        clause_type=clause,
        codes=list(codes),
        required_share=Decimal(threshold) if threshold else None,
        comune_code=comune,
        province=province,
        region="Friuli-Venezia Giulia" if comune else None,
    )


def criterion(result: services.Eligibility, name: str) -> services.Criterion:
    return next(c for c in result.criteria if c.name == name)


@pytest.mark.parametrize(
    ("share", "eligible"),
    [("29.9", False), ("29.99", False), ("30", True), ("30.0", True), ("64", True)],
)
def test_reserved_threshold_edges(db_session, share, eligible):
    result = services.evaluate(tender_facts(), facts(share), date(2026, 5, 1))
    assert criterion(result, "share").passed is eligible
    assert result.eligible is eligible
    assert "D.Lgs. 36/2023 art. 61" in criterion(result, "share").explanation


def test_convention_uses_the_l381_share_and_only_type_b(db_session):
    # 30% with other disadvantaged (art. 61) but 25% by art. 4 categories: not for art. 5.
    supplier = facts("30", l381="25")
    result = services.evaluate(tender_facts(CONVENTION), supplier, date(2026, 5, 1))
    assert not criterion(result, "share").passed
    assert "L. 381/1991 art. 4" in criterion(result, "share").explanation
    farm = services.evaluate(
        tender_facts(CONVENTION), facts("40", kind="social_farm"), date(2026, 5, 1)
    )
    assert not criterion(farm, "kind").passed


def test_missing_or_old_declaration_and_expired_register(db_session):
    no_declaration = services.evaluate(tender_facts(), facts(None), date(2026, 5, 1))
    assert not criterion(no_declaration, "share").passed
    expired = services.evaluate(
        tender_facts(), facts("40", valid_until=date(2026, 4, 30)), date(2026, 5, 1)
    )
    assert not criterion(expired, "register").passed
    unverified = services.evaluate(tender_facts(), facts("40", verified=False), date(2026, 5, 1))
    assert not criterion(unverified, "kind").passed


def test_social_clause_has_no_share_threshold(db_session):
    result = services.evaluate(
        tender_facts(SOCIAL_CLAUSE, threshold=None), facts("10"), date(2026, 5, 1)
    )
    assert criterion(result, "share").passed and result.eligible


def test_cpv_prefix_hierarchy():
    assert cpv_prefix("90910000") == "9091"
    assert cpv_prefix("90000000") == "90"
    assert cpv_prefix("03000000") == "03"
    # A capability covers the codes below it; one below the tender's code covers part.
    assert services.cpv_match(["90910000"], "90911200") == (1.0, "90910000")
    assert services.cpv_match(["90911200"], "90910000") == (0.5, "90911200")
    assert services.cpv_match(["90911200"], "77310000") == (0.0, None)
    assert services.cpv_match(["45000000"], "45210000")[0] == 1.0


def test_cpv_and_territory_criteria(db_session):
    day = date(2026, 5, 1)
    wrong_cpv = services.evaluate(tender_facts(codes=("55524000",)), facts("40"), day)
    assert not criterion(wrong_cpv, "cpv").passed
    elsewhere = services.evaluate(
        tender_facts(comune="060038", province="FR"),
        facts("40", comune="001272", province="TO", region="Piemonte"),
        day,
    )
    assert not criterion(elsewhere, "territory").passed
    served = services.evaluate(
        tender_facts(comune="060038", province="FR"),
        facts("40", comune="001272", province="TO", territories={("province", "FR")}),
        day,
    )
    assert criterion(served, "territory").passed
    near = services.evaluate(tender_facts(), facts("40"), day)
    assert near.score > served.score  # same municipality fits better


def test_cpv_normalisation():
    assert cpv.normalise("45000000-7") == "45000000"
    assert cpv.normalise("90911200.0") == "90911200"
    assert cpv.normalise(" 9091 1200 ") == "90911200"
    assert cpv.normalise("3000000") == "03000000"
    assert cpv.normalise(90911200) == "90911200"
    assert cpv.normalise("pulizie") is None
    assert cpv.normalise("123") is None
    assert cpv.is_known("90911200") and not cpv.is_known("99999999")


# --- Compliance arithmetic ------------------------------------------------------------------


class _Tender:
    def __init__(self, clause: str, **fields: object) -> None:
        self.clause_type = clause
        self.threshold = fields.get("threshold", Decimal("30"))
        self.clause_measure = fields.get("measure")
        self.clause_target = fields.get("target")
        self.clause_base = fields.get("base")

    @property
    def required_share(self) -> Decimal | None:
        return self.threshold if self.clause_type in (RESERVED, CONVENTION) else None


def report(**fields: object) -> ReportData:
    defaults = {"period_start": None, "workers_total": 1000}
    defaults.update(fields)
    return ReportData(**defaults)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("disadvantaged", "disabled", "compliant"),
    [(299, 0, False), (200, 99, False), (300, 0, True), (150, 150, True)],
)
def test_reserved_compliance_edges(disadvantaged, disabled, compliant):
    measured, ok = services.compute_compliance(
        _Tender(RESERVED), report(workers_disadvantaged=disadvantaged, workers_disabled=disabled)
    )
    assert ok is compliant
    assert measured == Decimal(disadvantaged + disabled) / 10


def test_social_clause_share_count_hours_and_new_hires():
    share = _Tender(SOCIAL_CLAUSE, measure="share", target=Decimal("30"), base="contract_workforce")
    assert (
        services.compute_compliance(share, report(workers_total=10, workers_disadvantaged=3))[1]
        is True
    )
    count = _Tender(SOCIAL_CLAUSE, measure="count", target=Decimal("2"), base="new_hires")
    assert services.compute_compliance(
        count, report(new_hires_total=3, new_hires_disadvantaged=1)
    ) == (Decimal(1), False)
    hours = _Tender(SOCIAL_CLAUSE, measure="share", target=Decimal("20"), base="hours")
    assert (
        services.compute_compliance(
            hours, report(hours_total=Decimal("1000"), hours_disadvantaged=Decimal("199.99"))
        )[1]
        is False
    )
    hires = _Tender(SOCIAL_CLAUSE, measure="share", target=Decimal("50"), base="new_hires")
    assert (
        services.compute_compliance(hires, report(new_hires_total=4, new_hires_disadvantaged=2))[1]
        is True
    )
    # No new hires at all: no share to compare, the clause is not met.
    assert services.compute_compliance(hires, report(new_hires_total=0))[1] is False
    assert services.compute_compliance(_Tender(PREMIUM), report()) == (None, None)


def test_report_checks_count_each_person_once():
    assert "workers_disadvantaged" in services.check_report(
        report(workers_total=5, workers_disadvantaged=4, workers_disabled=2)
    )
    assert "workers_total" in services.check_report(report(workers_total=-1))
    assert "hours_disadvantaged" in services.check_report(
        report(hours_total=Decimal("10"), hours_disadvantaged=Decimal("11"))
    )
    assert "new_hires_from_caseload" in services.check_report(
        report(new_hires_total=1, new_hires_from_caseload=2)
    )
    assert services.check_report(report(workers_total=10, workers_disadvantaged=3)) == {}


def test_reporting_periods_and_overdue(db_session):
    officer, body = make_officer()
    supplier, _user = make_supplier()
    tender = make_tender(body, officer)
    contract = make_contract(tender, supplier, months_ago=9)
    periods = services.periods(contract, today())
    assert len(periods) == 4 or len(periods) == 3  # the fourth starts today at the latest
    assert periods[0][0] == contract.start_date
    assert periods[1][0] == services.add_months(contract.start_date, 3)
    assert periods[0][1] == periods[1][0] - timedelta(days=1)
    overdue = services.overdue_periods(contract, today())
    assert [p[0] for p in overdue] == [periods[0][0], periods[1][0]]
    contract.reports.append(
        ComplianceReport(
            period_start=periods[0][0], period_end=periods[0][1], workers_total=1, status="accepted"
        )
    )
    assert len(services.overdue_periods(contract, today())) == 1


def test_add_months_keeps_the_end_of_month():
    assert services.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert services.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert services.add_months(date(2026, 3, 15), -9) == date(2025, 6, 15)


# --- Tender checks -------------------------------------------------------------------------


def data(**fields: object) -> TenderData:
    defaults: dict[str, object] = {"title": "Gara", "cpv_codes": ["77310000"]}
    defaults.update(fields)
    return TenderData(**defaults)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"threshold": Decimal("100.01")}, "threshold"),
        ({"threshold": Decimal("-1")}, "threshold"),
        ({"clause_type": RESERVED, "threshold": Decimal("29.9")}, "threshold"),
        ({"value_amount": Decimal("-0.01")}, "value_amount"),
        ({"value_amount": Decimal("1.005")}, "value_amount"),
        ({"value_currency": "euro"}, "value_currency"),
        ({"cpv_codes": ["99999999"]}, "cpv_codes"),
        ({"cpv_codes": ["verde"]}, "cpv_codes"),
        ({"cpv_codes": []}, "cpv_codes"),
        (
            {
                "clause_type": SOCIAL_CLAUSE,
                "clause_measure": "share",
                "clause_base": "hours",
                "clause_target": Decimal("120"),
            },
            "clause_target",
        ),
        (
            {
                "clause_type": SOCIAL_CLAUSE,
                "clause_measure": "count",
                "clause_base": "new_hires",
                "clause_target": Decimal("1.5"),
            },
            "clause_target",
        ),
        ({"clause_type": SOCIAL_CLAUSE}, "clause_measure"),
        ({"clause_type": PREMIUM}, "premium_measures"),
        ({"premium_measures": ["14"]}, "premium_measures"),
        ({"clause_type": "whatever"}, "clause_type"),
    ],
)
def test_check_tender_rejects_bad_input(db_session, fields, error):
    with pytest.raises(TenderError) as caught:
        services.check_tender(data(**fields))
    assert error in caught.value.fields


def test_check_tender_accepts_thresholds_at_the_edges(db_session):
    services.check_tender(data(threshold=Decimal("0")))
    services.check_tender(data(threshold=Decimal("100")))
    services.check_tender(data(clause_type=RESERVED, threshold=Decimal("30")))
    services.check_tender(data(cpv_codes=["77310000-6", "90911200.0"]))


def test_convention_warns_above_the_eu_threshold(db_session):
    below = data(clause_type=CONVENTION, value_amount=Decimal("220999.99"))
    assert services.tender_warnings(below) == []
    above = data(clause_type=CONVENTION, value_amount=Decimal("221000.00"))
    assert any("221,000" in w for w in services.tender_warnings(above))
    works = data(clause_type=CONVENTION, main_category="works", value_amount=Decimal("1"))
    assert services.tender_warnings(works)
    dollars = data(clause_type=CONVENTION, value_amount=Decimal("1"), value_currency="USD")
    assert services.tender_warnings(dollars)


def test_declaration_checks(db_session):
    org, user = make_supplier(declare=False)
    with pytest.raises(TenderError) as caught:
        services.save_declaration(
            org,
            user,
            services.DeclarationData(
                year=today().year - 1,
                total_workers=Decimal("10"),
                disabled=Decimal("8"),
                other_disadvantaged=Decimal("3"),
            ),
            today(),
        )
    assert "other_disadvantaged" in caught.value.fields
    for bad in (
        {"total_workers": Decimal("-1")},
        {"total_workers": Decimal("0")},
        {"total_workers": Decimal("5"), "disabled": Decimal("-1")},
        {"total_workers": Decimal("5"), "year": today().year + 1},
        {"total_workers": Decimal("5.001")},
    ):
        fields = {"year": today().year - 1, **bad}
        with pytest.raises(TenderError):
            services.save_declaration(org, user, services.DeclarationData(**fields), today())
    saved = services.save_declaration(
        org,
        user,
        services.DeclarationData(
            year=today().year - 1, total_workers=Decimal("10"), disabled=Decimal("3")
        ),
        today(),
    )
    again = services.save_declaration(
        org,
        user,
        services.DeclarationData(
            year=today().year - 1, total_workers=Decimal("12"), disabled=Decimal("3")
        ),
        today(),
    )
    assert saved.id == again.id and again.l381_share == Decimal(25)


def test_database_prefilter_never_drops_an_eligible_supplier(db_session):
    """rank() narrows candidates in SQL, then checks exactly: it must agree with checking
    every supplier in Python, threshold edges and territories included."""
    officer, body = make_officer()
    variants = [
        {"total": "20", "art4": "5.98"},  # 29.9%
        {"total": "20", "art4": "6"},  # 30%
        {"total": "3", "art4": "0.9"},  # 30%, awkward as a float
        {"total": "10", "art4": "2", "other": "1"},  # 30% only with art. 61's other
        {"total": "10", "art4": "5", "comune": "060038"},  # another province
        {"total": "10", "art4": "5", "comune": "060038", "provinces": ("PN",)},
        {"total": "10", "art4": "5", "comune": "060038", "regions": ("Friuli-Venezia Giulia",)},
        {"total": "10", "art4": "5", "codes": ("90000000",)},  # broader capability
        {"total": "10", "art4": "5", "codes": ("90911200",)},  # narrower capability
        {"total": "10", "art4": "5", "codes": ("55524000",)},  # unrelated
        {"total": "10", "art4": "5", "kind": "social_farm"},
        {"total": "10", "art4": "5", "valid_until": today() - timedelta(days=1)},
        {"total": "10", "art4": "5", "year": today().year - 3},
        {"total": "10", "art4": "5", "verified": False},
    ]
    for variant in variants:
        fields = dict(variant)
        kind = fields.pop("kind", "cooperative_b")
        fields.setdefault("codes", ("90910000",))
        make_supplier(kind, **fields)
    for clause in (RESERVED, CONVENTION, SOCIAL_CLAUSE):
        extra = (
            {"clause_measure": "share", "clause_target": Decimal(10), "clause_base": "hours"}
            if clause == SOCIAL_CLAUSE
            else {}
        )
        tender = make_tender(body, officer, clause=clause, codes=("90910000",), **extra)
        fast = {r.supplier.org_id for r in services.rank(tender, today())}
        everyone = services.load_suppliers(today())
        exact = {
            s.org_id
            for s in everyone
            if services.evaluate(TenderFacts.of(tender), s, today()).eligible
        }
        assert fast == exact, clause
        assert fast, clause
