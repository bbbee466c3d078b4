"""The microcredit rules as one surface: every public name of the modules that own them,
for callers that read better with one import (``from microcredit import services``).

New code imports from the owning module: :mod:`microcredit.rules` (McError, the date),
:mod:`microcredit.access`, :mod:`microcredit.centres`, :mod:`microcredit.members`,
:mod:`microcredit.groups`, :mod:`microcredit.savings`, :mod:`microcredit.products` and
:mod:`microcredit.lending` (terms, state, support services, lifecycle, staggered waves,
group applications, repayments, penalties). Nothing is defined here, so a test that patches
a rule patches it where it is used, in its own module.
"""

from microcredit.access import (
    can_manage,
    officer_org_ids,
    officer_organisations,
    org_officers,
    require_officer,
)
from microcredit.centres import (
    CalendarMove,
    CentreData,
    calendar_moves,
    ensure_meeting,
    last_meeting,
    meeting_dates,
    next_meetings,
    save_centre,
)
from microcredit.groups import (
    GROUP_ACTIONS,
    group_transition,
    is_trained,
    recognition_problems,
    record_training,
    save_group,
    sessions_attended,
)
from microcredit.lending.group_loans import (
    ROW_FIELDS,
    GroupLoanRow,
    approve_group_loans,
    disburse_group_loans,
    disbursement_order,
    submit_group_loans,
)
from microcredit.lending.lifecycle import (
    approve,
    disburse,
    reject,
    reschedule,
    submit_loan,
    undo_approval,
    withdraw,
    write_off,
)
from microcredit.lending.penalties import (
    apply_penalties,
    penalty_organisations,
)
from microcredit.lending.repayments import (
    prepay,
    refund,
    repay,
    reverse,
)
from microcredit.lending.state import (
    begin,
    date_errors,
    loan_position,
    lock_loan,
    require_status,
    transactions,
)
from microcredit.lending.support import (
    add_service,
    required_services,
)
from microcredit.lending.terms import (
    check_limits,
    loan_terms,
    preview_schedule,
    term_exceeds,
)
from microcredit.lending.waves import (
    PlanLine,
    group_plan,
    staggered,
    tranche_date,
    tranche_errors,
    wave_number,
    wave_problem,
)
from microcredit.members import (
    MemberData,
    leave_group,
    member_has_open_loan,
    save_member,
    withdraw_consent,
)
from microcredit.products import (
    ProductData,
    save_product,
)
from microcredit.rules import (
    McError,
    check_date,
    local_today,
    name_taken,
    record,
)
from microcredit.savings import (
    post_savings,
    reverse_savings,
    savings_balance,
    savings_balances,
)

__all__ = [
    "GROUP_ACTIONS",
    "ROW_FIELDS",
    "CalendarMove",
    "CentreData",
    "GroupLoanRow",
    "McError",
    "MemberData",
    "PlanLine",
    "ProductData",
    "add_service",
    "apply_penalties",
    "approve",
    "approve_group_loans",
    "begin",
    "calendar_moves",
    "can_manage",
    "check_date",
    "check_limits",
    "date_errors",
    "disburse",
    "disburse_group_loans",
    "disbursement_order",
    "ensure_meeting",
    "group_plan",
    "group_transition",
    "is_trained",
    "last_meeting",
    "leave_group",
    "loan_position",
    "loan_terms",
    "local_today",
    "lock_loan",
    "meeting_dates",
    "member_has_open_loan",
    "name_taken",
    "next_meetings",
    "officer_org_ids",
    "officer_organisations",
    "org_officers",
    "penalty_organisations",
    "post_savings",
    "prepay",
    "preview_schedule",
    "recognition_problems",
    "record",
    "record_training",
    "refund",
    "reject",
    "repay",
    "require_officer",
    "require_status",
    "required_services",
    "reschedule",
    "reverse",
    "reverse_savings",
    "save_centre",
    "save_group",
    "save_member",
    "save_product",
    "savings_balance",
    "savings_balances",
    "sessions_attended",
    "staggered",
    "submit_group_loans",
    "submit_loan",
    "term_exceeds",
    "tranche_date",
    "tranche_errors",
    "transactions",
    "undo_approval",
    "wave_number",
    "wave_problem",
    "withdraw",
    "withdraw_consent",
    "write_off",
]
