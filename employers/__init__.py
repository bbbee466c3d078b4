"""Employers: company profiles, vacancies, the L. 68/1999 quota, needs surveys,
the proposals inbox."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

# Both model modules, so that importing any part of the package (as ``flask db`` does with
# ``employers.models``) registers every employers table with the metadata.
from employers import models as _models  # noqa: F401
from employers.surveys import models as _survey_models  # noqa: F401


def init_app(app: Flask) -> None:
    from employers import api, quota_views, survey_views, views  # noqa: F401 (routes)
    from employers.models import Vacancy
    from portal import demo, search, sitemap
    from portal.api import page_schema
    from portal.layout import add_nav

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    search.register(Vacancy)
    from employers.models import CONTRACT_TYPES

    app.extensions.setdefault("ponte_search_labels", {}).update(
        {"vacancy": _l("Vacancy"), **CONTRACT_TYPES}
    )
    add_nav(app, _l("Vacancies"), "employers.vacancy_list")
    sitemap.register(app, "vacancies", views.sitemap_rows, views.sitemap_url)
    from portal.layout import add_home_actions
    from portal.models import COOPERATIVE, EMPLOYER, SOCIAL_FARM

    # Cooperatives and social farms post vacancies too: for them it is one area among others.
    add_nav(app, _l("Employer area"), "employers.dashboard", (EMPLOYER,))
    add_nav(app, _l("My vacancies"), "employers.dashboard", (COOPERATIVE, SOCIAL_FARM))
    add_home_actions(app, (EMPLOYER,), views.home_actions, order=10)
    add_home_actions(app, (COOPERATIVE, SOCIAL_FARM), views.home_actions, order=60)
    schemas = app.extensions.setdefault("ponte_openapi_schemas", {})
    schemas.update(
        {
            "Vacancy": api.VACANCY_SCHEMA,
            "VacancyInput": api.VACANCY_INPUT_SCHEMA,
            "VacancyPatch": api.VACANCY_PATCH_SCHEMA,
            "VacancyPage": page_schema("Vacancy"),
        }
    )

    from employers.demo import seed as seed_demo

    demo.register_seeder(app, seed_demo)
    _register_cli(app)


def _register_cli(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from portal.jobs import register_daily

    group = AppGroup("employers", help="Employers: vacancy housekeeping.")

    @group.command("expire")
    def expire_command() -> None:
        """Close expired vacancies and send reminders for those about to expire."""
        from employers import services
        from portal import db
        from portal.db import utcnow

        today = utcnow().date()
        closed = services.expire_due(today)
        reminded = services.send_expiry_reminders(today)
        db.session.commit()
        click.echo(f"{closed} vacancies expired, {reminded} reminders sent.")

    app.cli.add_command(group)
    register_daily(app, "employers expire")  # run by `flask ponte daily`
