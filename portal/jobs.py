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

``flask --app wsgi ponte run employers-expire`` runs one job (its command with the first
space written as a dash, as the systemd units in ``deploy/systemd/`` name them). Every run,
alone or within ``ponte daily``, is counted per job and node in ``scheduled_job_stat``
(runs, failures, last success), which ``/metrics`` exposes to the monitoring.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Float, String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal import db, identifiers
from portal.db import Base, utcnow

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


def resolve_job(ctx: object, name: str) -> click.Command:
    """The command of job ``name``: "employers expire" or "employers-expire"."""
    command = name if " " in name else name.replace("-", " ", 1)
    if not isinstance(ctx, click.Context):
        ctx = click.Context(current_app.cli)
    return _resolve(ctx, command)


class ScheduledJobStat(Base):
    """How often a scheduled job ran on a node, and how it went (for /metrics)."""

    __tablename__ = "scheduled_job_stat"

    job: Mapped[str] = mapped_column(String(80), primary_key=True)
    node: Mapped[str] = mapped_column(String(120), primary_key=True)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_duration: Mapped[float] = mapped_column(Float, default=0.0)


def record_run(job: str, ok: bool, duration: float) -> None:
    """Count one run of ``job`` on this node (its own transaction, after the job's)."""
    node = socket.gethostname()[:120]
    now = utcnow()
    table = ScheduledJobStat.__table__
    values = {
        "runs": table.c.runs + 1,
        "failures": table.c.failures + (0 if ok else 1),
        "last_run_at": now,
        "last_duration": duration,
        ("last_success_at" if ok else "last_failure_at"): now,
    }
    where = (table.c.job == job) & (table.c.node == node)
    for _attempt in range(2):
        if db.session.execute(update(table).where(where).values(values)).rowcount:
            db.session.commit()
            return
        db.session.add(
            ScheduledJobStat(
                job=job,
                node=node,
                runs=1,
                failures=0 if ok else 1,
                last_run_at=now,
                last_duration=duration,
                last_success_at=now if ok else None,
                last_failure_at=None if ok else now,
            )
        )
        try:
            db.session.commit()
            return
        except IntegrityError:  # the same job's first run on this node, twice at once
            db.session.rollback()


def run_job(ctx: click.Context, command: str) -> bool:
    """Run one job, roll back what it left on failure, count the run; True if it worked."""
    started = time.monotonic()
    ok = True
    try:
        ctx.invoke(_resolve(ctx, command))
    except SystemExit as error:  # e.g. a check that found discrepancies
        if error.code not in (0, None):
            db.session.rollback()
            click.echo(f"!! {command} failed: exit status {error.code}")
            ok = False
    except Exception as error:  # one failing job does not stop the others
        db.session.rollback()
        message = (
            error.format_message()
            if isinstance(error, click.ClickException)
            else f"{type(error).__name__}: {error}"
        )
        click.echo(f"!! {command} failed: {message}")
        ok = False
    try:
        record_run(command, ok, time.monotonic() - started)
    except Exception as error:  # counting must never turn a good run into a failure
        db.session.rollback()
        current_app.logger.warning("job %s: run not recorded (%s)", command, error)
    return ok


ponte_cli = AppGroup("ponte", help="Scheduled jobs of every module.")


@ponte_cli.command("run")
@click.argument("job")
@click.pass_context
def run_command(ctx: click.Context, job: str) -> None:
    """Run one scheduled job, e.g. ``employers-expire`` (exit status 1 if it failed)."""
    command = job if " " in job else job.replace("-", " ", 1)
    _resolve(ctx, command)  # an unknown job is a usage error, not a failed run
    if not run_job(ctx, command):
        raise SystemExit(1)


@ponte_cli.command("daily")
@click.pass_context
def daily_command(ctx: click.Context) -> None:
    """Run every daily job registered by the modules (see README, Scheduled jobs)."""
    failed = []
    for command in daily_jobs(current_app):
        click.echo(f"== {command}")
        if not run_job(ctx, command):
            failed.append(command)
    if failed:
        click.echo(f"{len(failed)} daily jobs failed: {', '.join(failed)}", err=True)
        raise SystemExit(1)
    click.echo("All daily jobs done.")


@ponte_cli.command("check-identifiers")
def check_identifiers_command() -> None:
    """Report stored fiscal codes, VAT numbers and IBANs that python-stdnum refuses or that
    are not in compact form (nothing is changed: an officer corrects them). Exit 1 if any."""
    found = 0
    for what, key, value, problem in identifiers.stored_problems(db.session):
        found += 1
        click.echo(f"{what} #{key}: {value}: {problem}")
    click.echo(f"{found} stored identifier(s) to correct.")
    if found:
        raise SystemExit(1)


@ponte_cli.command("jobs")
def jobs_command() -> None:
    """List the daily jobs in the order ``ponte daily`` runs them."""
    for command in daily_jobs(current_app):
        click.echo(command)


def init_app(app: Flask) -> None:
    app.cli.add_command(ponte_cli)
