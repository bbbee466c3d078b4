"""No lost updates, on every edit form and API update: a save based on a version that
somebody else has changed since is refused, shows the current values, and writes nothing
(portal.concurrency)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from portal import db
from portal.models import BROKER
from tests.conftest import login
from tests.factories import make_org, make_user
from tests.forms import edit_form_fields


@dataclass
class Case:
    user: Any
    url: str
    record: Any
    #: Somebody else's save in between: (attribute, new value).
    theirs: tuple[str, Any]
    #: What the stale form changes: (form field, typed value, attribute).
    mine: tuple[str, str, str]
    #: How the other person's value reads on the page.
    shows: str


def _organisation() -> Case:
    org = make_org("cooperative_b")
    user = make_user("cooperative", org=org)
    return Case(
        user,
        f"/my/organisations/{org.id}/edit",
        org,
        ("description", "Cooperativa di tipo B dal 1998"),
        ("phone", "0434 999999", "phone"),
        "Cooperativa di tipo B dal 1998",
    )


def _company_profile() -> Case:
    from employers.models import CompanyProfile

    user = make_user("employer")
    org = user.organisations("employer")[0]
    profile = CompanyProfile(
        organisation_id=org.id, legal_name=org.name, vat_number="00743110157", ateco_code="10.71"
    )
    db.session.add(profile)
    db.session.flush()
    return Case(
        user,
        "/employer/profile",
        profile,
        ("legal_name", "Panificio Rossi S.r.l."),
        ("employees", "42", "employees"),
        "Panificio Rossi S.r.l.",
    )


def _vacancy() -> Case:
    from tests.employers.factories import make_vacancy

    user = make_user("employer")
    vacancy = make_vacancy(user, publish=False)
    return Case(
        user,
        f"/employer/vacancies/{vacancy.id}/edit",
        vacancy,
        ("description", "Carico e scarico merci, turno del mattino."),
        ("title", "Magazziniere con patentino", "title"),
        "Carico e scarico merci, turno del mattino.",
    )


def _survey_round() -> Case:
    from tests.employers.test_surveys import make_round

    survey_round = make_round()
    user = make_user("public_officer")
    return Case(
        user,
        f"/surveys/rounds/{survey_round.id}/edit",
        survey_round,
        ("description", "Rilevazione annuale dei fabbisogni"),
        ("title", "Fabbisogni 2027", "title"),
        "Rilevazione annuale dei fabbisogni",
    )


def _practice() -> Case:
    from portal.network.models import DRAFT
    from tests.portal.test_network_support import make_practice

    org = make_org("cooperative_b")
    user = make_user("cooperative", org=org)
    practice = make_practice(org, status=DRAFT)
    return Case(
        user,
        f"/good-practices/{practice.id}/edit",
        practice,
        ("summary", "Un tutor segue ogni tirocinio per sei mesi."),
        ("title", "Tirocini accompagnati", "title"),
        "Un tutor segue ogni tirocinio per sei mesi.",
    )


def _event() -> Case:
    from tests.portal.test_network_support import make_event

    org = make_org("service")
    user = make_user(BROKER, org=org)
    event = make_event(org)
    return Case(
        user,
        f"/events/{event.id}/edit",
        event,
        ("venue", "Sala consiliare, piano terra"),
        ("title", "Incontro di primavera", "title"),
        "Sala consiliare, piano terra",
    )


def _agreement() -> Case:
    from tests.portal.test_network_support import make_agreement

    org = make_org("service")
    user = make_user(BROKER, org=org)
    agreement = make_agreement(org)
    return Case(
        user,
        f"/agreements/{agreement.id}/edit",
        agreement,
        ("description", "Protocollo rinnovato con le cooperative"),
        ("title", "Protocollo di rete 2027", "title"),
        "Protocollo rinnovato con le cooperative",
    )


def _candidate() -> Case:
    from tests.brokerage.factories import make_candidate

    service = make_org("service")
    broker = make_user(BROKER, org=service)
    candidate = make_candidate(service=service, broker=broker, hours_min=10, hours_max=20)
    return Case(
        broker,
        f"/brokerage/candidates/{candidate.id}/edit",
        candidate,
        ("summary", "Esperienza in magazzino e logistica"),
        ("full_name", "Mario Nuovo", "full_name"),
        "Esperienza in magazzino e logistica",
    )


def _centre() -> Case:
    from tests.microcredit.factories import make_centre, make_officer

    officer = make_officer()
    centre = make_centre(officer)
    return Case(
        officer,
        f"/microcredit/centres/{centre.id}/edit",
        centre,
        ("meeting_place", "Oratorio San Marco"),
        ("name", "Centro Borgomeduna", "name"),
        "Oratorio San Marco",
    )


def _group() -> Case:
    from tests.microcredit.factories import make_centre, make_group, make_officer

    officer = make_officer()
    group, _members = make_group(officer, make_centre(officer), state="forming")
    other = make_centre(officer)
    return Case(
        officer,
        f"/microcredit/groups/{group.id}/edit",
        group,
        ("centre_id", other.id),
        ("name", "Gruppo Le Formiche", "name"),
        other.name,
    )


def _member() -> Case:
    from tests.microcredit.factories import make_member, make_officer

    officer = make_officer()
    member = make_member(officer)
    return Case(
        officer,
        f"/microcredit/members/{member.id}/edit",
        member,
        ("phone", "340 7654321"),
        ("full_name", "Anna Verdi", "full_name"),
        "340 7654321",
    )


def _loan_product() -> Case:
    from tests.microcredit.factories import make_officer, make_product

    officer = make_officer()
    product = make_product(officer)
    return Case(
        officer,
        f"/microcredit/products/{product.id}/edit",
        product,
        ("interest_rate", Decimal("9.5")),
        ("name", "Microcredito sociale 2027", "name"),
        "9",
    )


def _shop_profile() -> Case:
    from ethical_products.models import ProducerProfile
    from tests.ethical_products.factories import make_producer

    org, user = make_producer()
    profile = db.session.get(ProducerProfile, org.id)
    return Case(
        user,
        "/shop/manage/profile",
        profile,
        ("pickup_points", "Mercato contadino del sabato"),
        ("story", "Coltiviamo ortaggi con persone in percorso", "story"),
        "Mercato contadino del sabato",
    )


def _shop_product() -> Case:
    from tests.ethical_products.factories import make_producer, make_product

    org, user = make_producer()
    product, _variant = make_product(org)
    return Case(
        user,
        f"/shop/manage/products/{product.id}",
        product,
        ("description", "Miele di tiglio dei colli"),
        ("name", "Miele millefiori", "name"),
        "Miele di tiglio dei colli",
    )


def _shop_variant() -> Case:
    from tests.ethical_products.factories import make_producer, make_product

    org, user = make_producer()
    _product, variant = make_product(org)
    return Case(
        user,
        f"/shop/manage/variants/{variant.id}",
        variant,
        ("price", Decimal("6.20")),
        ("label", "Vasetto da 500 g", "label"),
        "6,20",
    )


def _pathway_stage() -> Case:
    from brokerage import pathway
    from tests.brokerage.factories import make_candidate

    service = make_org("service")
    broker = make_user(BROKER, org=service)
    candidate = make_candidate(service=service, broker=broker)
    [stage] = pathway.stages_of(candidate)  # the referral every pathway starts with
    return Case(
        broker,
        f"/brokerage/pathway/{stage.id}/edit",
        stage,
        ("tutor", "Giulia Neri"),
        ("notes", "Colloquio svolto", "notes"),
        "Giulia Neri",
    )


def _tender() -> Case:
    from tests.brokerage.test_tenders_factories import make_officer, make_tender

    officer, body = make_officer()
    tender = make_tender(body, officer, status="draft", title="Pulizia degli uffici comunali")
    return Case(
        officer,
        f"/tenders/{tender.id}/edit",
        tender,
        ("description", "Servizio di pulizia con inserimento lavorativo"),
        ("title", "Pulizia degli uffici e delle scuole", "title"),
        "Servizio di pulizia con inserimento lavorativo",
    )


CASES: dict[str, Callable[[], Case]] = {
    "organisation": _organisation,
    "company profile": _company_profile,
    "vacancy": _vacancy,
    "survey round": _survey_round,
    "tender": _tender,
    "good practice": _practice,
    "event": _event,
    "agreement": _agreement,
    "candidate": _candidate,
    "pathway stage": _pathway_stage,
    "microcredit centre": _centre,
    "solidarity group": _group,
    "microcredit member": _member,
    "loan product": _loan_product,
    "shop profile": _shop_profile,
    "shop product": _shop_product,
    "shop variant": _shop_variant,
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_save_based_on_an_old_version_is_refused_with_the_current_values_shown(
    kind, client, db_session
):
    case = CASES[kind]()
    login(client, case.user)
    opened = client.get(case.url)
    assert opened.status_code == 200, opened.status_code
    form = edit_form_fields(opened.get_data(as_text=True))
    before = getattr(case.record, case.mine[2])

    attribute, value = case.theirs  # somebody else saves first
    setattr(case.record, attribute, value)
    db.session.commit()
    form[case.mine[0]] = case.mine[1]
    response = client.post(case.url, data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 409, (kind, response.status_code)
    assert 'id="edit-conflict"' in page
    assert case.shows in page
    db.session.expire_all()
    assert getattr(case.record, case.mine[2]) == before  # nothing written
    assert getattr(case.record, attribute) == value  # the other save stands

    # Saving the page as shown now confirms: both changes are kept.
    confirm = edit_form_fields(page)
    response = client.post(case.url, data=confirm)
    assert response.status_code == 302, (kind, response.status_code)
    db.session.expire_all()
    assert str(getattr(case.record, case.mine[2])) == case.mine[1]
    assert getattr(case.record, attribute) == value


@pytest.mark.parametrize("kind", list(CASES))
def test_a_save_based_on_the_current_version_is_written(kind, client, db_session):
    case = CASES[kind]()
    login(client, case.user)
    form = edit_form_fields(client.get(case.url).get_data(as_text=True))
    form[case.mine[0]] = case.mine[1]
    response = client.post(case.url, data=form)
    assert response.status_code == 302, (kind, response.status_code)
    db.session.expire_all()
    assert str(getattr(case.record, case.mine[2])) == case.mine[1]


# --- The API: ETag and If-Match (RFC 9110 §13.1.1) ---------------------------------------


@pytest.fixture
def api_vacancy(db_session):
    from portal.accounts import issue_token
    from tests.employers.factories import make_vacancy

    employer = make_user("employer")
    vacancy = make_vacancy(employer, publish=False)
    return vacancy, {"Authorization": f"Bearer {issue_token(employer)}"}


def test_the_api_gives_the_version_as_an_etag_and_updates_only_with_it(client, api_vacancy):
    vacancy, auth = api_vacancy
    url = f"/api/v1/vacancies/{vacancy.id}"
    read = client.get(url, headers=auth)
    etag = read.headers["ETag"]
    assert read.get_json()["version"] == vacancy.version

    response = client.patch(url, headers={**auth, "If-Match": etag}, json={"positions": 3})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["positions"] == 3
    assert response.headers["ETag"] != etag
    assert response.get_json()["title"] == vacancy.title  # the other fields as they were


def test_an_api_update_based_on_an_old_version_is_refused_with_412(client, api_vacancy):
    vacancy, auth = api_vacancy
    url = f"/api/v1/vacancies/{vacancy.id}"
    etag = client.get(url, headers=auth).headers["ETag"]
    vacancy.description = "Cambiata nel portale da un collega"
    db.session.commit()

    response = client.patch(url, headers={**auth, "If-Match": etag}, json={"positions": 3})

    assert response.status_code == 412
    error = response.get_json()["error"]
    assert error["code"] == "precondition_failed" and error["fields"]["etag"] != etag
    db.session.expire_all()
    assert vacancy.positions == 1


def test_an_api_update_without_if_match_is_refused_with_428(client, api_vacancy):
    vacancy, auth = api_vacancy
    response = client.patch(f"/api/v1/vacancies/{vacancy.id}", headers=auth, json={"positions": 3})
    assert response.status_code == 428
    assert response.get_json()["error"]["code"] == "precondition_required"


def test_an_api_update_of_another_companys_vacancy_is_not_found(client, api_vacancy):
    from portal.accounts import issue_token

    vacancy, _auth = api_vacancy
    other = {"Authorization": f"Bearer {issue_token(make_user('employer'))}"}
    response = client.patch(
        f"/api/v1/vacancies/{vacancy.id}", headers={**other, "If-Match": "*"}, json={}
    )
    assert response.status_code == 404


def test_the_openapi_document_says_updates_need_if_match(client, db_session):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/vacancies/{vacancy_id}"]["patch"]
    assert any(p["name"] == "If-Match" and p["required"] for p in operation["parameters"])
    assert {"412", "428"} <= set(operation["responses"])
