"""``flask esco import-labels``: ESCO's official CSV format, preferred and alternative
labels, any language, a report, search by the new labels; the English fallback marked."""

from __future__ import annotations

import csv

from sqlalchemy import select

from portal import db
from portal.taxonomy import (
    EscoLabel,
    Occupation,
    Skill,
    label_html,
    search_occupations,
    search_skills,
)

MACHINERY = "http://data.europa.eu/esco/skill/00dd3271-077f-4a12-a958-e297fdd724ce"
ENGRAVING = "http://data.europa.eu/esco/skill/017738e7-7d12-4e87-a580-8523405bab96"
SMART_HOME = "http://data.europa.eu/esco/occupation/15a7e87c-f7d5-4a60-bab7-9636b76143fe"

SKILL_COLUMNS = [
    "conceptType", "conceptUri", "skillType", "reuseLevel", "preferredLabel", "altLabels",
    "hiddenLabels", "status", "modifiedDate", "scopeNote", "definition", "inScheme",
    "description",
]  # fmt: skip
OCCUPATION_COLUMNS = [
    "conceptType", "conceptUri", "iscoGroup", "preferredLabel", "altLabels", "hiddenLabels",
    "status", "modifiedDate", "regulatedProfessionNote", "scopeNote", "definition",
    "inScheme", "description", "code",
]  # fmt: skip


def write(path, columns, rows):  # type: ignore[no-untyped-def]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # ESCO's files have a BOM
        writer = csv.DictWriter(fh, fieldnames=columns, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def run(app, *args):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def test_italian_skill_labels_and_alternatives_are_loaded_and_found(app, db_session, tmp_path):
    file = tmp_path / "skills_it.csv"
    write(
        file,
        SKILL_COLUMNS,
        [
            {
                "conceptType": "KnowledgeSkillCompetence",
                "conceptUri": MACHINERY,
                "skillType": "skill/competence",
                "preferredLabel": "utilizzare macchinari agricoli",
                "altLabels": "condurre macchine agricole\nguidare trattori",
                "status": "released",
            },
            {
                "conceptUri": "http://data.europa.eu/esco/skill/not-in-the-subset",
                "skillType": "skill/competence",
                "preferredLabel": "altro",
            },
        ],
    )
    result = run(app, "esco", "import-labels", str(file), "--lang", "it", "--no-reindex")
    assert result.exit_code == 0, result.output
    assert "2 rows read, 1 matched" in result.output
    assert "1 preferred labels set, 2 alternative labels stored, 1 concepts not" in result.output
    skill = db.session.execute(select(Skill).where(Skill.uri == MACHINERY)).scalar_one()
    assert skill.label_it == "utilizzare macchinari agricoli"
    with app.test_request_context("/?lang=it"):
        assert skill in search_skills("guidare tratt")  # an alternative label
        assert skill in search_skills("macchinari agricoli")  # the preferred one
    # Importing again replaces, never duplicates.
    run(app, "esco", "import-labels", str(file), "--lang", "it", "--no-reindex")
    assert (
        len(
            db.session.execute(
                select(EscoLabel).where(
                    EscoLabel.concept_id == skill.id, EscoLabel.concept == "skill"
                )
            ).all()
        )
        == 2
    )


def test_occupations_in_another_language_are_searchable(app, db_session, tmp_path):
    file = tmp_path / "occupations_de.csv"
    write(
        file,
        OCCUPATION_COLUMNS,
        [
            {
                "conceptUri": SMART_HOME,
                "iscoGroup": "7421",
                "preferredLabel": "Smart-Home-Installateur",
                "altLabels": "Installateurin für intelligente Haustechnik",
            }
        ],
    )
    result = run(app, "esco", "import-labels", str(file), "--lang", "de", "--no-reindex")
    assert result.exit_code == 0, result.output
    occupation = db.session.execute(
        select(Occupation).where(Occupation.uri == SMART_HOME)
    ).scalar_one()
    assert occupation.label_it is None  # German does not fill the Italian label
    with app.test_request_context():
        assert occupation in search_occupations("haustechnik")


def test_a_file_of_another_format_is_refused(app, db_session, tmp_path):
    file = tmp_path / "other.csv"
    file.write_text("uri,label\nx,y\n", encoding="utf-8")
    result = run(app, "esco", "import-labels", str(file), "--lang", "it")
    assert result.exit_code != 0 and "conceptUri" in result.output


def test_an_english_fallback_is_marked_on_italian_pages(app):
    with app.test_request_context("/", headers={"Accept-Language": "it"}):
        assert str(label_html(None, "operate wrecking ball")) == (
            '<span lang="en">operate wrecking ball</span>'
        )
        assert str(label_html("usare", "use")) == "usare"
    with app.test_request_context("/?lang=en"):
        assert str(label_html("usare", "use")) == "use"
    assert ENGRAVING
