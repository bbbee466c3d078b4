"""The command line of INTERFACES.md, run through Flask's CLI runner."""

from __future__ import annotations

from sqlalchemy import func, select

from portal import db
from portal.accounts import find_organisation, find_user, user_for_token
from portal.models import Membership, Organisation, User


def run(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result


def test_users_create_with_new_org_and_password_from_stdin(app, db_session):
    result = run(
        app,
        "users",
        "create",
        "--email",
        "Anna@Coop.IT",
        "--role",
        "cooperative",
        "--org",
        "Cooperativa Test CLI",
        "--password-stdin",
        input="S3greta-Lunga!\n",
    )
    assert result.exit_code == 0, result.output
    user = find_user("anna@coop.it")
    assert user is not None and user.check_password("S3greta-Lunga!")
    org = find_organisation("Cooperativa Test CLI")
    assert org.kind == "cooperative_b" and user.has_role("cooperative")


def test_users_create_refuses_duplicates_and_bad_roles(app, db_session):
    assert run(app, "users", "create", "--email", "x@y.it", "--role", "buyer").exit_code == 0
    again = run(app, "users", "create", "--email", "x@y.it", "--role", "buyer")
    assert again.exit_code != 0 and "Error" in again.output
    assert run(app, "users", "create", "--email", "z@y.it", "--role", "wizard").exit_code != 0
    no_org = run(app, "users", "create", "--email", "e@y.it", "--role", "employer")
    assert no_org.exit_code != 0
    assert find_user("e@y.it") is None


def test_tokens_create_prints_a_working_token(app, db_session, client):
    run(
        app,
        "users",
        "create",
        "--email",
        "off@comune.it",
        "--role",
        "public_officer",
        "--org",
        "Comune di Prova",
    )
    result = run(app, "tokens", "create", "--email", "off@comune.it")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("pnt_")
    assert user_for_token(token).email == "off@comune.it"
    response = client.get("/api/v1/organizations", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert run(app, "tokens", "create", "--email", "nobody@x.it").exit_code != 0


def test_orgs_verify(app, db_session):
    run(
        app,
        "users",
        "create",
        "--email",
        "f@farm.it",
        "--role",
        "social_farm",
        "--org",
        "Fattoria Prova",
    )
    refused = run(app, "orgs", "verify", "Fattoria Prova")
    assert refused.exit_code != 0  # no regional register enrolment yet
    find_organisation("Fattoria Prova").regional_register = "Reg. 12"
    result = run(app, "orgs", "verify", "Fattoria Prova")
    assert result.exit_code == 0, result.output
    assert find_organisation("Fattoria Prova").is_verified
    assert run(app, "orgs", "verify", "Nessuna").exit_code != 0


def counts():
    return (
        db.session.execute(select(func.count()).select_from(User)).scalar_one(),
        db.session.execute(select(func.count()).select_from(Organisation)).scalar_one(),
        db.session.execute(select(func.count()).select_from(Membership)).scalar_one(),
    )


def test_demo_seed_twice_makes_no_duplicates(app, db_session):
    first = run(app, "demo", "seed")
    assert first.exit_code == 0, first.output
    assert "broker@ponte.demo" in first.output
    after_first = counts()
    second = run(app, "demo", "seed")
    assert second.exit_code == 0, second.output
    assert counts() == after_first
    kinds = set(db.session.execute(select(Organisation.kind)).scalars())
    assert kinds >= {
        "company",
        "cooperative_b",
        "social_farm",
        "service",
        "public_body",
        "microcredit_org",
    }
    roles = set(db.session.execute(select(Membership.role)).scalars())
    assert roles >= {
        "admin",
        "employer",
        "cooperative",
        "social_farm",
        "broker",
        "public_officer",
        "microcredit_officer",
        "buyer",
    }


def test_demo_seed_if_empty_does_nothing_on_a_used_database(app, db_session):
    run(app, "users", "create", "--email", "first@x.it", "--role", "buyer")
    result = run(app, "demo", "seed", "--if-empty")
    assert result.exit_code == 0 and "not loaded" in result.output
    assert find_user("admin@ponte.demo") is None


# --- Scheduled jobs ---------------------------------------------------------------------


EXPECTED_DAILY = [
    "employers expire",
    "tenders remind",
    "microcredit penalties",
    "microcredit reconcile",
    "shop expire",
    "shop transfers",
    "ratelimit prune",
    "network remind",
    "notifications digest",
    "search drain",
    "search prune",
    "db analyze",
]


def test_ponte_jobs_lists_what_every_module_registered(app):
    result = run(app, "ponte", "jobs")
    assert result.exit_code == 0, result.output
    listed = result.output.split("\n")
    assert sorted(line for line in listed if line) == sorted(EXPECTED_DAILY)
    # The modules' jobs come first, the core's (reminders, digest, search) last.
    assert listed[-6:-1] == [
        "network remind",
        "notifications digest",
        "search drain",
        "search prune",
        "db analyze",
    ]


def test_ponte_daily_runs_every_daily_job(app, db_session):
    from datetime import timedelta

    from employers.models import Vacancy
    from portal.db import utcnow
    from tests.employers.factories import make_vacancy
    from tests.factories import make_user

    vacancy = make_vacancy(make_user("employer"))
    vacancy.expires_on = utcnow().date() - timedelta(days=1)
    db.session.commit()
    result = run(app, "ponte", "daily")
    assert result.exit_code == 0, result.output
    for job in EXPECTED_DAILY:
        assert f"== {job}\n" in result.output
    assert "1 vacancies expired" in result.output
    assert db.session.get(Vacancy, vacancy.id).status == "closed"
    assert result.output.rstrip().endswith("All daily jobs done.")


def test_ponte_daily_goes_on_after_a_failing_job_and_exits_1(app, db_session):
    import click
    from flask.cli import AppGroup

    from portal.jobs import EXTENSION

    group = AppGroup("testjobs")

    @group.command("fail")
    def fail() -> None:
        raise click.ClickException("broken on purpose")

    app.cli.add_command(group)
    jobs = app.extensions[EXTENSION]
    saved = list(jobs)
    jobs.insert(0, "testjobs fail")
    try:
        result = run(app, "ponte", "daily")
    finally:
        jobs[:] = saved
        app.cli.commands.pop("testjobs")
    assert result.exit_code == 1
    assert "!! testjobs fail failed: broken on purpose" in result.output
    assert "== search prune" in result.output  # the others still ran
