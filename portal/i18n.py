"""Language choice and locale-aware formatting (Flask-Babel 4)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_translations,
)
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context

from portal import identifiers
from portal.extensions import babel

K = TypeVar("K")

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


def translated(labels: Mapping[K, Any]) -> dict[K, str]:
    """A constant mapping of lazy labels (contract types, adjustments), translated once per
    process and language rather than on every page that lists them."""
    key = (id(labels), str(get_locale()))
    cache = current_app.extensions.setdefault("ponte_translated", {})
    found = cache.get(key)
    if found is None or found[0] is not labels:
        found = cache[key] = (labels, {k: str(v) for k, v in labels.items()})
    return found[1]


def euro(amount: Decimal | int | str | None) -> str:
    if amount is None:
        return ""
    return format_currency(Decimal(amount), "EUR")


#: Each language's number pattern, parsed once per process (babel's own objects).
_NUMBER_PATTERNS: dict[str, tuple[Any, Any]] = {}


def number(value: Any) -> str:
    """A number in the reader's locale (``|number``), as ``format_decimal`` writes it,
    with the locale's pattern looked up once rather than for each of a page's counts."""
    if value is None:
        return ""
    if not has_request_context():
        return format_decimal(value)
    locale = get_locale()
    if locale is None:
        return format_decimal(value)
    patterns = _NUMBER_PATTERNS.get(str(locale))
    if patterns is None:
        patterns = _NUMBER_PATTERNS[str(locale)] = (locale.decimal_formats[None], locale)
    return patterns[0].apply(value, patterns[1])


def format_iban(value: str | None) -> str:
    return identifiers.format_iban(value or "")


def _translations(context: Context) -> Any:
    # A page calls _() a hundred times or more: the render's context carries the request's
    # catalogue (inject_locale), instead of Flask-Babel looking it up again on every call.
    translations = context.get("ponte_translations")
    return translations if translations is not None else get_translations()


@pass_context
def _gettext(context: Context, string: str) -> str:
    return _translations(context).ugettext(string)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _translations(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, message_context: str, string: str) -> str:
    return _translations(context).upgettext(message_context, string)


@pass_context
def _npgettext(context: Context, message_context: str, singular: str, plural: str, n: int) -> str:
    return _translations(context).unpgettext(message_context, singular, plural, n)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext,
        ngettext=_ngettext,
        newstyle=True,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )
    app.jinja_env.filters.update(
        euro=euro,
        date=lambda value, fmt="medium": format_date(value, fmt) if value else "",
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "",
        number=number,
        iban=format_iban,  # stored compact, shown in groups of four
    )

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale() or "it"),
            "ponte_translations": get_translations(),
        }
