"""Every scrollable table wrapper comes from the shared component (keyboard-reachable and
named), never a bare ``<div class="table-responsive">``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "employers", "brokerage", "microcredit", "ethical_products")


def test_no_template_writes_a_bare_table_responsive_wrapper():
    bare = []
    for package in PACKAGES:
        for template in (ROOT / package).rglob("*.html"):
            if template == ROOT / "portal" / "templates" / "macros.html":
                continue  # the component itself
            for n, line in enumerate(template.read_text().splitlines(), 1):
                if re.search(r"<div[^>]*class=\"[^\"]*table-responsive", line):
                    bare.append(f"{template.relative_to(ROOT)}:{n}")
    assert bare == [], "use {{ scroll_region(label) }} ... </div>: " + ", ".join(bare)


def test_the_component_makes_a_focusable_named_region(app):
    with app.test_request_context():
        template = app.jinja_env.from_string(
            '{% from "macros.html" import scroll_region %}{{ scroll_region("Loans") }}'
        )
        html = template.render()
    assert 'tabindex="0"' in html and 'role="region"' in html and 'aria-label="Loans"' in html
