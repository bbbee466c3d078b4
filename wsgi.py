"""WSGI entry point: ``flask --app wsgi …`` and production servers."""

from portal import create_app

app = create_app()
