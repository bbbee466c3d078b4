"""Extract messages, update the it/en catalogs, and fill English from the source text.

Source strings are written in English, so the English catalogue repeats them; the
Italian catalogue is translated by hand. Run with ``make extract-messages``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    p
    for p in ("portal", "employers", "brokerage", "microcredit", "ethical_products")
    if (ROOT / p).is_dir()
]
POT = ROOT / "translations" / "messages.pot"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def main() -> None:
    pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "-k",
        "lazy_gettext",
        "-k",
        "lazy_pgettext:1c,2",
        "--no-location",
        "--sort-output",
        "--project=Ponte",
        "-o",
        str(POT),
        *PACKAGES,
    )
    for lang in ("it", "en"):
        po = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel(
                "update",
                "-i",
                str(POT),
                "-d",
                "translations",
                "-l",
                lang,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
            )
        else:
            pybabel("init", "-i", str(POT), "-d", "translations", "-l", lang)
    fill_english(ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po")


def fill_english(path: Path) -> None:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not all(message.string):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False)


if __name__ == "__main__":
    main()
