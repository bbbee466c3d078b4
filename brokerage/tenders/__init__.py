"""Social-clause tenders (L. 381/1991 art. 5; D.Lgs. 36/2023 art. 61): supplier profiles and
workforce declarations, tenders created in the portal or imported from OCDS 1.1, eligible
suppliers, awards and compliance reports, the public transparency page of each buyer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from brokerage.tenders import (  # noqa: F401  (each views module registers on views.bp)
        api,
        officer_views,
        supplier_views,
        views,
    )
    from brokerage.tenders.models import Tender
    from brokerage.tenders.services import DEFAULT_EU_THRESHOLDS, SUPPLIER_ROLES
    from portal import demo, search, sitemap
    from portal.api import page_schema
    from portal.layout import add_home_actions, add_nav
    from portal.models import PUBLIC_OFFICER

    app.config.setdefault("TENDERS_EU_THRESHOLDS", dict(DEFAULT_EU_THRESHOLDS))
    app.config.setdefault("TENDERS_OCID_PREFIX", "ocds-ponte")
    app.config.setdefault("TENDERS_MAX_IMPORT_BYTES", 20 * 1024 * 1024)  # pasted JSON
    app.config.setdefault("TENDERS_MAX_STREAM_BYTES", 2 * 1024**3)  # files (streamed)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    search.register(Tender)
    from brokerage.tenders.models import CLAUSE_TYPES

    app.extensions.setdefault("ponte_search_labels", {}).update(CLAUSE_TYPES)
    add_nav(app, _l("Tenders"), "tenders.tender_list")
    sitemap.register(app, "tenders", views.sitemap_rows, views.sitemap_url)
    add_nav(app, _l("Tenders area"), "tenders.officer_dashboard", (PUBLIC_OFFICER,))
    add_nav(app, _l("Tenders for you"), "tenders.supplier_dashboard", SUPPLIER_ROLES)
    add_home_actions(app, SUPPLIER_ROLES, views.supplier_home_actions, order=10)
    add_home_actions(app, (PUBLIC_OFFICER,), views.officer_home_actions, order=10)
    app.jinja_env.filters["tender_money"] = _money
    app.jinja_env.filters["tender_when"] = when
    schemas = app.extensions.setdefault("ponte_openapi_schemas", {})
    schemas.update(
        {
            "Tender": api.TENDER_SCHEMA,
            "TenderPage": page_schema("Tender"),
            "TenderImportReport": api.IMPORT_REPORT_SCHEMA,
            "EligibleSuppliers": api.ELIGIBLE_SCHEMA,
        }
    )

    from brokerage.tenders.demo import seed as seed_demo

    demo.register_seeder(app, seed_demo)
    _register_cli(app)


def when(value: datetime | None) -> str:
    """A deadline, the same everywhere in tenders: the medium date and the time without
    seconds, joined as the locale does ("12 gen 2026, 12:00")."""
    if value is None:
        return ""
    from babel.dates import get_datetime_format
    from flask_babel import format_date, format_time, get_locale

    glue = get_datetime_format("medium", locale=get_locale() or "it")
    return glue.replace("{1}", format_date(value, "medium")).replace(
        "{0}", format_time(value, "short")
    )


def _money(amount: Decimal | None, currency: str = "EUR") -> str:
    from flask_babel import format_currency

    return "" if amount is None else format_currency(amount, currency or "EUR")


def _register_cli(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from portal.jobs import register_daily

    group = AppGroup("tenders", help="Social-clause tenders: compliance housekeeping.")

    @group.command("remind")
    def remind_command() -> None:
        """Remind suppliers of overdue compliance reports (at most weekly per contract)."""
        from brokerage.tenders import services
        from portal import db
        from portal.db import utcnow

        sent = services.send_reminders(utcnow().date())
        db.session.commit()
        click.echo(f"Reminders sent for {sent} contracts.")

    @group.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--body", required=True, help="Name of the buying public body.")
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    def import_command(path: str, body: str, quiet: bool) -> None:
        """Import OCDS data for BODY: release or record packages, releases or records,
        OCDS 1.0 or 1.1, one document or JSON Lines, of any size (streamed)."""
        import os

        from brokerage.tenders import ocds
        from portal import accounts, db
        from portal.db import utcnow

        org = accounts.find_organisation(body)
        if org is None:
            raise click.ClickException(f"No organisation named {body!r}.")
        size = os.path.getsize(path)
        with (
            open(path, "rb") as fh,
            click.progressbar(length=size, label="Importing", hidden=quiet) as bar,
        ):
            done = [0]

            def progress(position: int) -> None:
                bar.update(position - done[0])
                done[0] = position

            try:
                report = ocds.import_stream(fh, org, None, utcnow().date(), progress)
            except ocds.ImportRejected as rejected:
                db.session.rollback()
                for problem in rejected.problems:
                    click.echo(f"{problem.path or '/'}: {problem.message}", err=True)
                raise click.ClickException("The package was rejected: nothing imported.") from None
        db.session.commit()
        for warning in report.warnings[:50]:
            click.echo(f"warning {warning.path or '/'}: {warning.message}", err=True)
        click.echo(
            f"{report.releases} releases and {report.records} records read "
            f"({report.upgraded} upgraded from OCDS 1.0): {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{report.warnings_total} warnings."
        )

    app.cli.add_command(group)
    register_daily(app, "tenders remind")  # run by `flask ponte daily`
