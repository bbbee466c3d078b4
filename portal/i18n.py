"""Language choice and locale-aware formatting (Flask-Babel 4)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

from portal import identifiers
from portal.extensions import babel

#: Session flag: the language in the session was chosen by the person (``?lang=``), not
#: copied from their settings; signing in then saves it to their profile.
LANG_CHOSEN = "lang_chosen"

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


def select_locale() -> str:
    """``?lang=`` (remembered in the session), then the user's setting, then Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # command line, background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        session[LANG_CHOSEN] = True
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def euro(amount: Decimal | int | str | None) -> str:
    if amount is None:
        return ""
    return format_currency(Decimal(amount), "EUR")


def format_iban(value: str | None) -> str:
    return identifiers.format_iban(value or "")


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(
        euro=euro,
        date=lambda value, fmt="medium": format_date(value, fmt) if value else "",
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "",
        number=lambda value: format_decimal(value) if value is not None else "",
        iban=format_iban,  # stored compact, shown in groups of four
    )

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale() or "it")}
