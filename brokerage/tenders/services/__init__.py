"""Rules of social-clause tenders: supplier profiles and declarations, tenders, eligible
suppliers, awards, compliance reports. Free of HTTP: views and the API call these.

Legal basis, cited where applied: L. 381/1991 art. 4 (30% disadvantaged, per head, annual
average) and art. 5 (conventions below the EU threshold); D.Lgs. 36/2023 art. 61 (reserved
contracts, 30% disabled or disadvantaged), art. 57 (social clauses), art. 14 (EU
thresholds); Directive 2014/24/EU art. 20.

One concept per module: ``base`` (constants, errors, amounts), ``access`` (who may do
what), ``suppliers`` (profiles, workforce declarations), ``eligibility`` (the criteria for
one supplier and one tender), ``matching`` (many suppliers and tenders, notifications),
``register`` (tenders and lots, publication), ``awards``, ``compliance`` (periods and
reports), ``reminders`` (overdue reports), ``transparency`` (the buyer's public page). This
package re-exports their public names: ``services.X`` keeps working for every caller.
"""

from __future__ import annotations

from brokerage.tenders.services.access import (
    can_edit,
    can_see_tender,
    holds_contract,
    officer_bodies,
    supplier_orgs,
)
from brokerage.tenders.services.awards import AwardData, award
from brokerage.tenders.services.base import (
    CURRENCIES_NOTE,
    DEFAULT_EU_THRESHOLDS,
    MAX_AMOUNT,
    PREMIUM_CODES,
    REMINDER_INTERVAL_DAYS,
    REPORT_GRACE_DAYS,
    RESERVED_CODES,
    SUPPLIER_KINDS,
    SUPPLIER_ROLES,
    TenderError,
    amount_error,
    currency_error,
    link,
    to_decimal,
)
from brokerage.tenders.services.compliance import (
    ReportData,
    add_months,
    check_report,
    compute_compliance,
    file_report,
    open_periods,
    overdue_periods,
    periods,
    review,
)
from brokerage.tenders.services.eligibility import (
    CRITERIA_NAMES,
    Criterion,
    Eligibility,
    Factor,
    SupplierFacts,
    TenderFacts,
    cpv_match,
    evaluate,
    explain,
    is_eligible,
)
from brokerage.tenders.services.matching import (
    SupplierIndex,
    eligible_tenders_for,
    load_suppliers,
    notify_eligible,
    notify_many,
    open_tenders_stmt,
    rank,
)
from brokerage.tenders.services.register import (
    NO_CPV_WARNING,
    LotData,
    TenderData,
    apply_data,
    check_tender,
    create_tender,
    default_sustainability,
    eu_threshold,
    eu_thresholds,
    new_ocid,
    publish,
    tender_warnings,
    update_tender,
)
from brokerage.tenders.services.reminders import Overdue, overdue_reports, send_reminders
from brokerage.tenders.services.suppliers import (
    DECLARATION_FIELDS,
    DeclarationData,
    ProfileData,
    annual_average,
    check_cpv_codes,
    check_declaration,
    current_declaration_year,
    parse_code_list,
    profile_for,
    province_codes,
    save_declaration,
    save_profile,
)
from brokerage.tenders.services.transparency import ContractSummary, summarise, transparency

__all__ = [
    "CRITERIA_NAMES",
    "CURRENCIES_NOTE",
    "DECLARATION_FIELDS",
    "DEFAULT_EU_THRESHOLDS",
    "MAX_AMOUNT",
    "NO_CPV_WARNING",
    "PREMIUM_CODES",
    "REMINDER_INTERVAL_DAYS",
    "REPORT_GRACE_DAYS",
    "RESERVED_CODES",
    "SUPPLIER_KINDS",
    "SUPPLIER_ROLES",
    "AwardData",
    "ContractSummary",
    "Criterion",
    "DeclarationData",
    "Eligibility",
    "Factor",
    "LotData",
    "Overdue",
    "ProfileData",
    "ReportData",
    "SupplierFacts",
    "SupplierIndex",
    "TenderData",
    "TenderError",
    "TenderFacts",
    "add_months",
    "amount_error",
    "annual_average",
    "apply_data",
    "award",
    "can_edit",
    "can_see_tender",
    "check_cpv_codes",
    "check_declaration",
    "check_report",
    "check_tender",
    "compute_compliance",
    "cpv_match",
    "create_tender",
    "currency_error",
    "current_declaration_year",
    "default_sustainability",
    "eligible_tenders_for",
    "eu_threshold",
    "eu_thresholds",
    "evaluate",
    "explain",
    "file_report",
    "holds_contract",
    "is_eligible",
    "link",
    "load_suppliers",
    "new_ocid",
    "notify_eligible",
    "notify_many",
    "officer_bodies",
    "open_periods",
    "open_tenders_stmt",
    "overdue_periods",
    "overdue_reports",
    "parse_code_list",
    "periods",
    "profile_for",
    "province_codes",
    "publish",
    "rank",
    "review",
    "save_declaration",
    "save_profile",
    "send_reminders",
    "summarise",
    "supplier_orgs",
    "tender_warnings",
    "to_decimal",
    "transparency",
    "update_tender",
]
