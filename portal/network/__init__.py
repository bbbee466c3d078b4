"""Network life: good practices, events, agreements, the public indicators page
and the open data catalogue. Part of the core: it imports no domain package; those add
indicator sections and datasets through :func:`indicators.register_provider` and
:func:`open_data.register_dataset`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from portal import demo, search, sitemap
    from portal.api import page_schema
    from portal.layout import add_nav
    from portal.models import ADMIN
    from portal.network import api, indicators, views
    from portal.network.models import GoodPractice

    app.config.setdefault("NETWORK_UPLOAD_DIR", "")
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    search.register(GoodPractice)
    sitemap.register(app, "good-practices", views.sitemap_practices, views.sitemap_practice_url)
    sitemap.register(app, "events", views.sitemap_events, views.sitemap_event_url)
    indicators.register_provider(app, indicators.network_life)
    add_nav(app, _l("Content editors"), "network.content_editors", (ADMIN,))
    schemas = app.extensions.setdefault("ponte_openapi_schemas", {})
    schemas.update(api.SCHEMAS)
    schemas.update(
        {
            "GoodPracticePage": page_schema("GoodPractice"),
            "EventPage": page_schema("Event"),
            "AgreementPage": page_schema("Agreement"),
        }
    )
    from portal.network.demo import seed as seed_demo

    demo.register_seeder(app, seed_demo)
    app.cli.add_command(network_cli)


network_cli = AppGroup("network", help="Network life: reminders.")


@network_cli.command("remind")
@click.option("--hours", default=24, show_default=True, help="Events starting within this time.")
def remind_command(hours: int) -> None:
    """Remind people registered for events that start soon, and the parties of agreements
    whose end is near (run daily or hourly; each reminder is sent once)."""
    from portal import db
    from portal.network import services

    events = services.send_event_reminders(hours=hours)
    agreements = services.send_renewal_reminders(services.today())
    db.session.commit()
    click.echo(f"{events} event reminders sent, {agreements} agreements to renew reminded.")
