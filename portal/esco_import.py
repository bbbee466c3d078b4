"""``flask esco import-labels FILE --lang it``: labels from ESCO's official download.

ESCO (https://esco.ec.europa.eu/en/use-esco/download) ships one CSV per language and kind:
``skills_it.csv``, ``occupations_it.csv``, … with the columns ``conceptUri``,
``preferredLabel`` and ``altLabels`` (alternative labels, one per line inside the field),
among others. The import matches concepts by URI with the ESCO subset the portal holds:
the preferred label becomes the concept's Italian (or English) label, alternative labels
and other languages' preferred labels go to ``esco_label``, where search finds them. It
reports what matched and rebuilds the search index.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import delete, select

from portal import db
from portal.taxonomy import EscoLabel, Occupation, Skill

esco_cli = AppGroup("esco", help="ESCO occupations and skills.")

#: The longest label the tables keep (ESCO's are far shorter).
LABEL_MAX = 300


@dataclass
class ImportReport:
    kind: str
    lang: str
    rows: int = 0
    matched: int = 0
    preferred_updated: int = 0
    alternative_labels: int = 0
    not_in_portal: int = 0
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{self.kind} labels ({self.lang}): {self.rows} rows read, {self.matched} matched "
            f"concepts of the portal, {self.preferred_updated} preferred labels set, "
            f"{self.alternative_labels} alternative labels stored, {self.not_in_portal} "
            "concepts not in the portal's ESCO subset.",
            *(f"skipped: {reason}" for reason in self.skipped[:20]),
        ]


def detect_kind(header: list[str]) -> str:
    """ "skill" or "occupation", from ESCO's columns (skills have ``skillType``,
    occupations ``iscoGroup``)."""
    if "conceptUri" not in header or "preferredLabel" not in header:
        raise click.ClickException(
            "not an ESCO skills_*.csv or occupations_*.csv file: it needs the columns "
            "conceptUri and preferredLabel"
        )
    if "skillType" in header:
        return "skill"
    if "iscoGroup" in header:
        return "occupation"
    raise click.ClickException("cannot tell skills from occupations: no skillType or iscoGroup")


def _clean(label: str) -> str:
    return " ".join(label.split())


def import_labels(path: Path, lang: str) -> ImportReport:
    """Load one ESCO CSV file in language ``lang``; one transaction (all or nothing)."""
    lang = lang.lower()
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        kind = detect_kind(reader.fieldnames or [])
        model: Any = Skill if kind == "skill" else Occupation
        ids = dict(db.session.execute(select(model.uri, model.id)).all())
        report = ImportReport(kind=kind, lang=lang)
        for row in reader:
            report.rows += 1
            uri = (row.get("conceptUri") or "").strip()
            concept_id = ids.get(uri)
            if concept_id is None:
                report.not_in_portal += 1
                continue
            report.matched += 1
            preferred = _clean(row.get("preferredLabel") or "")
            alternatives = [
                _clean(a) for a in (row.get("altLabels") or "").splitlines() if _clean(a)
            ]
            db.session.execute(
                delete(EscoLabel).where(
                    EscoLabel.concept == kind,
                    EscoLabel.concept_id == concept_id,
                    EscoLabel.lang == lang,
                )
            )
            if preferred and len(preferred) <= LABEL_MAX:
                if lang in ("it", "en"):
                    concept = db.session.get(model, concept_id)
                    setattr(concept, f"label_{lang}", preferred)
                else:
                    db.session.add(
                        EscoLabel(
                            concept=kind,
                            concept_id=concept_id,
                            lang=lang,
                            label=preferred,
                            preferred=True,
                        )
                    )
                report.preferred_updated += 1
            elif preferred:
                report.skipped.append(f"{uri}: preferred label longer than {LABEL_MAX}")
            for label in dict.fromkeys(alternatives):
                if label == preferred or len(label) > LABEL_MAX:
                    continue
                db.session.add(
                    EscoLabel(concept=kind, concept_id=concept_id, lang=lang, label=label)
                )
                report.alternative_labels += 1
    db.session.commit()
    return report


@esco_cli.command("import-labels")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", required=True, help="The language of the file: it, en, de, …")
@click.option("--no-reindex", is_flag=True, help="Do not rebuild the search index after.")
def import_labels_command(file: Path, lang: str, no_reindex: bool) -> None:
    """Load preferred and alternative labels from ESCO's skills_*.csv or occupations_*.csv."""
    if not lang.isalpha() or len(lang) > 8:
        raise click.BadParameter("a language code such as it, en or de", param_hint="--lang")
    report = import_labels(file, lang)
    for line in report.lines():
        click.echo(line)
    if not no_reindex:
        from portal import search

        click.echo(f"Search index rebuilt: {search.reindex()} documents.")


def init_app(app: Flask) -> None:
    app.cli.add_command(esco_cli)
