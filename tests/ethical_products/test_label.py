"""The ethical label: declared facts only, the same on card, page and JSON."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from ethical_products.label import label_facts, label_json, label_summary
from ethical_products.models import ProducerProfile
from portal import db
from tests.ethical_products.factories import make_producer, make_product


def codes(product):
    return [f.code for f in label_facts(product)]


def test_a_fully_declared_social_farm(db_session):
    org, _user = make_producer("social_farm", art2_activities=["a", "d"])
    product, _v = make_product(
        org, organic_body="IT-BIO-006", organic_number="B12345", organic=True
    )
    facts = {f.code: f for f in label_facts(product)}
    assert list(facts) == [
        "register",
        "art2_activities",
        "inclusion_hours_share",
        "organic",
        "origin",
    ]
    assert org.regional_register in facts["register"].text
    assert facts["art2_activities"].data == {"activities": ["a", "d"]}
    assert "35" in facts["inclusion_hours_share"].text
    assert facts["inclusion_hours_share"].data == {"percent": "35.00", "declared_on": "2026-01-10"}
    assert "IT-BIO-006" in facts["organic"].text and "B12345" in facts["organic"].text
    assert facts["origin"].data["comune"] == "093033"


def test_nothing_undeclared_is_stated(db_session):
    org, _user = make_producer(
        "cooperative_b", art2_activities=[], inclusion_hours_share=None, inclusion_declared_on=None
    )
    product, _v = make_product(org, organic_body="IT-BIO-006", organic_number="")
    assert codes(product) == ["register", "origin"]
    text = " ".join(f.text for f in label_facts(product)).lower()
    for claim in ("organic", "inclusion", "art. 2", "%"):
        assert claim not in text


def test_a_share_without_its_declaration_date_is_not_shown(db_session):
    org, _user = make_producer(inclusion_hours_share=Decimal("40"), inclusion_declared_on=None)
    product, _v = make_product(org)
    assert "inclusion_hours_share" not in codes(product)


def test_unknown_activity_codes_are_ignored(db_session):
    org, _user = make_producer(art2_activities=["a", "z"])
    product, _v = make_product(org)
    assert label_json(product)[1]["data"] == {"activities": ["a"]}


def shown_items(html, attribute):
    return [
        re.sub(r"\s+", " ", s).replace("&#39;", "'").replace("&amp;", "&").strip()
        for s in re.findall(rf'<li {attribute}="[a-z0-9_]+">(.*?)</li>', html, re.S)
    ]


def test_the_label_is_the_same_on_page_and_json_and_cards_summarise_it(client, db_session):
    org, _user = make_producer("social_farm", art2_activities=["a", "c"])
    product, _v = make_product(
        org, name="Passata solidale", organic_body="IT-BIO-006", organic_number="B1"
    )
    db.session.get(ProducerProfile, org.id).inclusion_declared_on = date(2026, 2, 1)
    expected = [f["text"] for f in label_json(product)]
    api = client.get(f"/api/v1/products/{product.id}").json
    assert [f["text"] for f in api["label"]] == expected
    page = client.get(f"/shop/products/{product.id}").get_data(as_text=True)
    assert shown_items(page, "data-fact") == expected
    # The card: a short form of the same facts, never the full label.
    card = client.get(f"/shop?producer={org.id}").get_data(as_text=True)
    assert shown_items(card, "data-fact") == []
    assert shown_items(card, "data-fact-summary") == [f.text for f in label_summary(product)]
    assert re.findall(r'data-fact-summary="([a-z0-9_]+)"', card) == [
        "register",
        "inclusion_hours_share",
        "organic",
    ]
    assert "35% delle ore di lavoro" in card and "Biologico certificato" in card


def test_a_card_summary_states_nothing_undeclared(db_session):
    org, _user = make_producer(
        "cooperative_b", art2_activities=[], inclusion_hours_share=None, inclusion_declared_on=None
    )
    product, _v = make_product(org, organic_body="IT-BIO-006", organic_number="")
    summary = label_summary(product)
    assert [f.code for f in summary] == ["register"]
    assert summary[0].data == label_facts(product)[0].data
    org.register_number = ""
    assert label_summary(product) == []
