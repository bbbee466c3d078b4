"""Loans, cut the way Apache Fineract cuts them: the terms and legal limits
(:mod:`.terms`), a loan's state and row lock (:mod:`.state`), the support services
(:mod:`.support`), the application-to-write-off lifecycle (:mod:`.lifecycle`), the
staggered first disbursement of a group (:mod:`.waves`), the group application
(:mod:`.group_loans`), repayments and reversals (:mod:`.repayments`) and the late-payment
penalties (:mod:`.penalties`). Import from the module that owns a name.
"""
