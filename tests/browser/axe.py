"""axe-core in the page: WCAG 2.0/2.1 A and AA rules, serious and critical violations only."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

AXE_SCRIPT = "/static/vendor/axe-core/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")


def run_axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG A/AA violations axe-core finds on the current page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_SCRIPT)
    results = page.evaluate(
        """(tags) => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        WCAG_TAGS,
    )
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def format_violations(violations: list[dict[str, Any]], where: str = "") -> str:
    """One paragraph per rule: id, impact, help text and the failing nodes' targets."""
    lines = [f"axe-core found {len(violations)} serious/critical violation(s){where}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(
                ", ".join(t) if isinstance(t, list) else str(t) for t in node["target"]
            )
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            lines.append(f"    {target}  {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    violations = run_axe(page)
    assert not violations, format_violations(violations, f" on {page.url}")


class Axe:
    """The ``axe`` fixture: ``axe(page)`` asserts; ``axe.scan(page)`` returns the report."""

    def __call__(self, page: Page) -> None:
        assert_accessible(page)

    def scan(self, page: Page) -> str:
        """ "" when the page is clean, else the formatted violations."""
        violations = run_axe(page)
        return format_violations(violations, f" on {page.url}") if violations else ""
