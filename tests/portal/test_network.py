"""Good practices: drafts private to their organisation, editorial publication, PDF
attachments, public listing with facets and search, sharing, the JSON API."""

from __future__ import annotations

import io
import random

import pytest

from portal import db, search
from portal.network import documents, services
from portal.network.models import DRAFT, PUBLISHED, SUBMITTED, ContentEditor, GoodPractice
from tests.conftest import login
from tests.factories import make_org, make_user
from tests.portal.test_network_support import PDF, make_practice, outbox


def word() -> str:
    return "zq" + "".join(random.choices("bcdfglmnprstvz", k=8))


@pytest.fixture
def coop(db_session):
    return make_user("cooperative")


def test_drafts_are_private_to_their_organisation(client, db_session, coop):
    org = coop.organisations()[0]
    draft = make_practice(org, status=DRAFT, title="Bozza riservata")
    path = f"/good-practices/{draft.id}-{draft.slug}"
    assert client.get(path).status_code == 404  # anonymous
    colleague = make_user("employer", org=org)
    for outsider in (make_user("cooperative"), make_user("admin"), make_user("broker")):
        login(client, outsider)
        assert client.get(path).status_code == 404, outsider.roles
        assert client.get(f"/api/v1/good-practices/{draft.id}").status_code == 404
    for insider in (coop, colleague):
        login(client, insider)
        page = client.get(path)
        assert page.status_code == 200 and "Bozza riservata" in page.text
    # Not in the public list nor in the API list nor in search.
    assert "Bozza riservata" not in client.get("/good-practices").text
    items = client.get("/api/v1/good-practices").json["items"]
    assert draft.id not in [i["id"] for i in items]


def test_an_editor_sees_submitted_practices_but_not_drafts(client, db_session, coop):
    org = coop.organisations()[0]
    draft = make_practice(org, status=DRAFT)
    submitted = make_practice(org, status=SUBMITTED, title="In revisione")
    editor = make_user("buyer")
    services.grant_editor(editor, None)
    login(client, editor)
    assert client.get(f"/good-practices/{draft.id}").status_code == 404
    assert client.get(f"/good-practices/{submitted.id}", follow_redirects=True).status_code == 200
    assert "In revisione" in client.get("/my/network").text


def test_member_drafts_submits_and_admin_publishes(app, client, db_session, coop):
    org = coop.organisations()[0]
    admin = make_user("admin")
    login(client, coop)
    response = client.post(
        "/good-practices/new",
        data={
            "organisation_id": org.id,
            "title": "Orti sociali in città",
            "summary": "Orti urbani coltivati da persone in percorso.",
            "body": "Primo paragrafo.\n\nSecondo paragrafo.",
            "region": "Lazio",
            "province_code": "rm",
            "themes": ["social_agriculture", "training"],
            "target_groups": ["disability"],
        },
    )
    assert response.status_code == 302
    practice = db.session.query(GoodPractice).filter_by(title="Orti sociali in città").one()
    assert practice.status == DRAFT and practice.province_code == "RM"
    assert practice.themes == ["social_agriculture", "training"]
    assert practice.slug == "orti-sociali-in-citta"

    del outbox(app)[:]
    assert client.post(f"/good-practices/{practice.id}/submit").status_code == 302
    assert practice.status == SUBMITTED
    assert any(m["To"] == admin.email for m in outbox(app)), "publishers are told"
    # Submitted practices are frozen for the authors.
    assert client.get(f"/good-practices/{practice.id}/edit").status_code == 403

    # A member cannot publish.
    client.post(f"/good-practices/{practice.id}/review", data={"publish": "1"})
    assert practice.status == SUBMITTED

    login(client, admin)
    response = client.post(f"/good-practices/{practice.id}/review", data={"publish": "1"})
    assert response.status_code == 302
    assert practice.status == PUBLISHED and practice.published_at is not None
    page = client.get(f"/good-practices/{practice.id}-{practice.slug}")
    assert page.status_code == 200
    assert 'property="og:title"' in page.text and "Secondo paragrafo." in page.text
    assert "linkedin.com/sharing" in page.text


def test_editor_sends_back_with_a_comment(client, db_session, coop):
    practice = make_practice(coop.organisations()[0], status=SUBMITTED)
    editor = make_user("public_officer")
    services.grant_editor(editor, None)
    login(client, editor)
    client.post(f"/good-practices/{practice.id}/review", data={"send_back": "1", "comment": ""})
    assert practice.status == SUBMITTED, "a comment is needed"
    client.post(
        f"/good-practices/{practice.id}/review",
        data={"send_back": "1", "comment": "Aggiungete i risultati."},
    )
    assert practice.status == DRAFT and practice.review_comment == "Aggiungete i risultati."
    login(client, coop)
    assert "Aggiungete i risultati." in client.get(f"/good-practices/{practice.id}/edit").text


def test_admin_grants_and_revokes_the_editor_role(client, db_session):
    admin = make_user("admin")
    someone = make_user("broker")
    login(client, admin)
    assert (
        client.post("/admin/content-editors", data={"email": "nobody@example.it"}).status_code
        == 200
    )
    client.post("/admin/content-editors", data={"email": someone.email})
    assert db.session.get(ContentEditor, someone.id) is not None
    assert services.can_publish(someone)
    client.post(f"/admin/content-editors/{someone.id}/revoke")
    assert db.session.get(ContentEditor, someone.id) is None
    login(client, someone)
    assert client.get("/admin/content-editors").status_code == 403


def test_pdf_attachments_are_checked_by_magic_bytes_and_size(client, db_session, coop):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages as written
    practice = make_practice(coop.organisations()[0], status=DRAFT)
    login(client, coop)
    url = f"/good-practices/{practice.id}/documents"

    def upload(data: bytes, name: str = "doc.pdf"):
        return client.post(
            url,
            data={"title": "Relazione", "file": (io.BytesIO(data), name, "application/pdf")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    assert "Upload a PDF file." in upload(b"<html>not a pdf</html>").text
    assert "Upload a PDF file." in upload(b"\x89PNG\r\n\x1a\n....", "image.pdf").text
    too_big = PDF + b"0" * (documents.MAX_BYTES + 1 - len(PDF))
    assert "larger than 10 MB" in upload(too_big).text
    assert practice.documents == []
    upload(PDF, "../../Relazione finale è.pdf")
    db.session.refresh(practice)
    [doc] = practice.documents
    assert doc.filename == "Relazione-finale-e.pdf" and doc.size == len(PDF)
    # Drafts' documents are private too.
    download = client.get(f"/good-practices/{practice.id}/documents/{doc.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    client.get("/logout")
    client.post("/logout")
    assert client.get(f"/good-practices/{practice.id}/documents/{doc.id}").status_code == 404


def test_magic_bytes():
    assert documents.is_pdf(b"%PDF-1.7\n")
    assert not documents.is_pdf(b" %PDF-1.7")
    assert not documents.is_pdf(b"GIF89a")
    with pytest.raises(documents.DocumentError):
        documents.check(b"")


def test_public_list_has_facets_and_full_text_search(client, db_session):
    org = make_org("service")
    w = word()
    make_practice(org, title=f"Clausole sociali {w}", themes=["social_clauses"], region="Lazio")
    make_practice(
        org,
        title=f"Laboratori {w}",
        themes=["observation_labs", "training"],
        targets=["mental_health"],
    )
    make_practice(org, status=DRAFT, title=f"Bozza {w}", themes=["microcredit"])
    db.session.commit()
    search.drain()
    page = client.get(f"/good-practices?q={w}")
    assert page.status_code == 200
    assert f"Clausole sociali {w}" in page.text and f"Laboratori {w}" in page.text
    assert f"Bozza {w}" not in page.text
    assert "Microcredit" not in page.text  # the draft's theme is not a facet
    page = client.get(f"/good-practices?q={w}&theme=observation_labs")
    assert f"Laboratori {w}" in page.text and f"Clausole sociali {w}" not in page.text
    page = client.get(f"/good-practices?q={w}&region=Lazio")
    assert f"Clausole sociali {w}" in page.text and f"Laboratori {w}" not in page.text
    # The site search finds published practices too.
    hits = search.query(w, doc_types=["good_practice"]).hits
    assert sorted(h.title for h in hits) == sorted([f"Clausole sociali {w}", f"Laboratori {w}"])
    assert all(h.url.startswith("/good-practices/") or "/good-practices/" in h.url for h in hits)


def test_api_lists_published_practices_with_updated_since(client, db_session):
    from datetime import timedelta

    from portal.db import utcnow

    org = make_org("cooperative_b")
    old = make_practice(org, title="Vecchia")
    old.updated_at = utcnow() - timedelta(days=30)
    new = make_practice(org, title="Nuova", themes=["training"])
    db.session.flush()
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = client.get(f"/api/v1/good-practices?updated_since={since}").json
    ids = [i["id"] for i in data["items"]]
    assert new.id in ids and old.id not in ids
    item = next(i for i in data["items"] if i["id"] == new.id)
    assert item["url"].startswith("http") and item["themes"] == ["training"]
    assert item["organization"]["id"] == org.id
    assert client.get("/api/v1/good-practices?updated_since=yesterday").status_code == 400
    assert client.get("/api/v1/good-practices?theme=nope").status_code == 400
    plus = client.get(
        "/api/v1/good-practices", query_string={"updated_since": since[:-1] + "+00:00"}
    )
    assert plus.status_code == 200 and new.id in [i["id"] for i in plus.json["items"]]
    assert client.get(f"/api/v1/good-practices/{new.id}").json["title"] == "Nuova"


def test_organizations_api_takes_updated_since(client, db_session):
    from datetime import timedelta

    from portal.db import utcnow

    stale = make_org("company", name="Impresa Ferma")
    stale.updated_at = utcnow() - timedelta(days=400)
    fresh = make_org("company", name="Impresa Attiva")
    db.session.flush()
    since = (utcnow() - timedelta(days=10)).date().isoformat()
    names = [
        o["name"]
        for o in client.get(f"/api/v1/organizations?q=impresa&updated_since={since}").json["items"]
    ]
    assert fresh.name in names and stale.name not in names
    bad = client.get("/api/v1/organizations?updated_since=31/12/2025")
    assert bad.status_code == 400 and list(bad.json["error"]["fields"]) == ["updated_since"]


def test_only_verified_members_draft(client, db_session):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages as written
    unverified = make_org("cooperative_b", verified=False)
    user = make_user("cooperative", org=unverified)
    login(client, user)
    page = client.get("/good-practices/new")
    assert page.status_code == 200 and "must be verified" in page.text
    response = client.post(
        "/good-practices/new",
        data={"organisation_id": unverified.id, "title": "X", "summary": "Y"},
    )
    assert response.status_code == 200
    assert db.session.query(GoodPractice).filter_by(title="X").count() == 0
