"""Command line of INTERFACES.md: ``flask --app wsgi …``."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from portal import accounts, db, migrate
from portal.models import ROLES, Organisation

users_cli = AppGroup("users", help="User accounts.")
tokens_cli = AppGroup("tokens", help="API tokens.")
orgs_cli = AppGroup("orgs", help="Organisations.")
demo_cli = AppGroup("demo", help="Demo data.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_name", default=None, help="Organisation (created if new).")
@click.option("--name", "full_name", default="")
@click.option("--service-type", default=None, help="For a new service organisation.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(
    email: str,
    role: str,
    org_name: str | None,
    full_name: str,
    service_type: str | None,
    password_stdin: bool,
) -> None:
    """Create a user (and its organisation when --org names a new one)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise click.ClickException("no password on standard input")
    org_fields = {"service_type": service_type or ("sil" if role == "broker" else None)}
    try:
        user = accounts.create_user(
            email,
            password,
            role,
            org_name=org_name,
            full_name=full_name,
            org_fields=org_fields,
        )
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    orgs = ", ".join(o.name for o in user.organisations())
    click.echo(f"Created user {user.email} ({role}){' in ' + orgs if orgs else ''}.")


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="cli")
def create_token_command(email: str, name: str) -> None:
    """Print a new API token for the user (shown only once)."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    clear = accounts.issue_token(user, name=name)
    db.session.commit()
    click.echo(clear)


@orgs_cli.command("verify")
@click.argument("name")
def verify_org_command(name: str) -> None:
    """Mark an organisation verified (what an admin does in the portal)."""
    org: Organisation | None = accounts.find_organisation(name)
    if org is None:
        raise click.ClickException(f"no organisation named {name!r}")
    try:
        accounts.verify_organisation(org, admin=None, reason="command line")
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"{org.name} is verified.")


@demo_cli.command("seed")
@click.option("--scale", type=click.Choice(["small", "large"]), default="small")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def seed_command(scale: str, if_empty: bool) -> None:
    """Load realistic Italian demo data (idempotent)."""
    from portal import demo

    if if_empty and not demo.database_is_empty():
        click.echo("The database already has data: demo data not loaded.")
    else:
        demo.seed(scale=scale, echo=click.echo)
        db.analyze()
    demo.print_logins(click.echo)


def init_app(app: Flask) -> None:
    migrate.init_app(app)
    for group in (users_cli, tokens_cli, orgs_cli, demo_cli):
        app.cli.add_command(group)
    from portal import esco_import

    esco_import.init_app(app)
