"""Microcredit: Grameen-style solidarity groups and centres, loan products within the
limits of art. 111 TUB and DM 176/2014, Fineract-compatible schedules, an append-only
ledger, collection sheets and portfolio quality."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from microcredit import api, network_indicators, views
    from microcredit.policy import Policy
    from portal import demo
    from portal.layout import add_home_actions, add_nav
    from portal.models import MICROCREDIT_OFFICER

    app.extensions["microcredit_policy"] = Policy.from_config(app.config.get("MICROCREDIT_POLICY"))
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    network_indicators.register(app)
    add_nav(app, _l("Microcredit"), "microcredit.dashboard", (MICROCREDIT_OFFICER,))
    add_home_actions(app, (MICROCREDIT_OFFICER,), views.officer_home_actions, order=10)
    schemas = app.extensions.setdefault("ponte_openapi_schemas", {})
    schemas.update(
        {
            "MicrocreditScheduleInput": api.SCHEDULE_INPUT_SCHEMA,
            "MicrocreditSchedule": api.SCHEDULE_SCHEMA,
            "MicrocreditGroupLoansInput": api.GROUP_LOANS_INPUT_SCHEMA,
            "MicrocreditGroupLoans": api.GROUP_LOANS_SCHEMA,
        }
    )

    from microcredit.demo import seed as seed_demo

    demo.register_seeder(app, seed_demo)
    _register_cli(app)


def _register_cli(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from portal.jobs import register_daily

    group = AppGroup("microcredit", help="Microcredit: penalties and ledger checks.")

    @group.command("penalties")
    @click.option(
        "--org",
        "org_name",
        default=None,
        help="One microcredit organisation's name (default: every organisation).",
    )
    def penalties_command(org_name: str | None) -> None:
        """Charge late-payment penalties due today (every organisation unless --org)."""
        from microcredit.lending.penalties import apply_penalties, penalty_organisations
        from microcredit.rules import local_today
        from portal import accounts, db

        today = local_today()
        if org_name is not None:
            org = accounts.find_organisation(org_name)
            if org is None:
                raise click.ClickException(f"No organisation named {org_name!r}.")
            organisations = [org]
        else:
            organisations = penalty_organisations()
        total = 0
        for org in organisations:
            count = apply_penalties(org.id, today)
            db.session.commit()  # one organisation at a time: a failure keeps the others'
            total += count
            if org_name is None:
                click.echo(f"{org.name}: {count} penalties charged.")
        click.echo(f"{total} penalties charged.")

    @group.command("reconcile")
    def reconcile_command() -> None:
        """Check every ledger entry and every loan's balances; exit 1 on a discrepancy."""
        from microcredit.reconcile import reconcile_all

        problems = reconcile_all()
        for problem in problems:
            click.echo(problem)
        click.echo(f"{len(problems)} discrepancies.")
        if problems:
            raise SystemExit(1)

    app.cli.add_command(group)
    # Run by `flask ponte daily`: the penalties first, so the check covers them too.
    register_daily(app, "microcredit penalties")
    register_daily(app, "microcredit reconcile")
