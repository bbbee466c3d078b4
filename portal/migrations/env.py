"""Alembic environment: the application's engine and metadata."""

from alembic import context
from flask import current_app

from portal.db import Base, engine
from portal.migrate import import_all_models

import_all_models(current_app)
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with engine().connect() as connection:
        _run(connection)
        connection.commit()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
