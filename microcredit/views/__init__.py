"""Microcredit pages: the officer's area (centres, groups, members, products, loans,
collection sheets, arrears, portfolio quality) and the public schedule calculator.

Only microcredit officers reach the area, and only their organisation's data: an object
of another organisation answers 404, so its existence is not revealed. Every page module
registers on the one ``microcredit`` blueprint of :mod:`.common` (endpoints are
``microcredit.<function>``); importing this package registers them all.
"""

from microcredit.views import (  # noqa: F401  (each module registers its pages)
    applications,
    calculator,
    centres,
    dashboard,
    groups,
    loans,
    members,
    products,
    reports,
    savings,
)
from microcredit.views.common import bp
from microcredit.views.dashboard import officer_home_actions

__all__ = ["bp", "officer_home_actions"]
