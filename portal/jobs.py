"""Scheduled jobs: ``flask --app wsgi ponte daily`` runs every daily job, in order.

The core imports no domain package: each module registers its own periodic commands in
its ``init_app`` with one line::

    from portal.jobs import register_daily
    register_daily(app, "employers expire")   # the CLI command to run once a day

A job is a command of the application's command line (so it can also be run alone, e.g.
from a finer-grained crontab) invoked with its default options. ``ponte daily`` runs the
modules' jobs first (they may notify people), then the core's: event and agreement
reminders, the notification digest, the search outbox. A job that fails is rolled back
and reported; the others still run; the exit status is 1 when any failed.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

EXTENSION = "ponte_daily_jobs"
#: The core's own daily jobs, run after the modules' ones (see create_app).
CORE_DAILY = (
    "network remind",
    "notifications digest",
    "search drain",
    "search prune",
    "db analyze",
)


def register_daily(app: Flask, command: str) -> None:
    """Add the CLI ``command`` ("group name") to the daily jobs (once)."""
    jobs = app.extensions.setdefault(EXTENSION, [])
    if command not in jobs:
        jobs.append(command)


def register_core_jobs(app: Flask) -> None:
    for command in CORE_DAILY:
        register_daily(app, command)


def daily_jobs(app: Flask) -> list[str]:
    return list(app.extensions.get(EXTENSION, []))


def _resolve(ctx: click.Context, command: str) -> click.Command:
    found: click.Command | None = current_app.cli
    for part in command.split():
        if not isinstance(found, click.Group):
            found = None
            break
        found = found.get_command(ctx, part)
    if found is None or isinstance(found, click.Group):
        raise click.ClickException(f"no command {command!r}")
    return found


ponte_cli = AppGroup("ponte", help="Scheduled jobs of every module.")


@ponte_cli.command("daily")
@click.pass_context
def daily_command(ctx: click.Context) -> None:
    """Run every daily job registered by the modules (see README, Scheduled jobs)."""
    from portal import db

    failed = []
    for command in daily_jobs(current_app):
        click.echo(f"== {command}")
        try:
            ctx.invoke(_resolve(ctx, command))
        except SystemExit as error:  # e.g. a check that found discrepancies
            if error.code not in (0, None):
                db.session.rollback()
                click.echo(f"!! {command} failed: exit status {error.code}")
                failed.append(command)
        except Exception as error:  # one failing job does not stop the others
            db.session.rollback()
            message = (
                error.format_message()
                if isinstance(error, click.ClickException)
                else f"{type(error).__name__}: {error}"
            )
            click.echo(f"!! {command} failed: {message}")
            failed.append(command)
    if failed:
        click.echo(f"{len(failed)} daily jobs failed: {', '.join(failed)}", err=True)
        raise SystemExit(1)
    click.echo("All daily jobs done.")


@ponte_cli.command("jobs")
def jobs_command() -> None:
    """List the daily jobs in the order ``ponte daily`` runs them."""
    for command in daily_jobs(current_app):
        click.echo(command)


def init_app(app: Flask) -> None:
    app.cli.add_command(ponte_cli)
