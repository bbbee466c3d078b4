"""The public catalogue and a producer's shop: what the pages show, the facet counts and
totals remembered while the data holds (and recounted after every change), and the
formatting shortcuts they print with."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import url_for
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import event

from ethical_products import formats, services
from ethical_products.label import label_facts, label_summary
from ethical_products.models import Photo, ProducerProfile, Product, Variant
from portal import db, search
from portal.i18n import euro
from portal.layout import row_url
from tests.ethical_products.factories import make_producer, make_product


def options(html: str, select_id: str) -> dict[str, str]:
    """The options of a filter: value -> label with its count."""
    block = html.split(f'id="{select_id}"')[1].split("</select>")[0]
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', block))


def found(html: str) -> str:
    return re.search(r'<p role="status">([^<]*)</p>', html).group(1)


class Statements:
    """The SELECTs the application runs while the block is open."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        event.listen(db.session.get_bind().engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(db.session.get_bind().engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(" ".join(statement.split()))

    def grouped(self) -> list[str]:
        return [s for s in self.seen if "GROUP BY ep_product." in s]

    def counts(self) -> list[str]:
        return [s for s in self.seen if s.startswith("SELECT count(*)")]


def test_facets_and_total_are_counted_once_and_again_after_each_change(client, db_session):
    farm, _u = make_producer()
    coop, _u2 = make_producer("cooperative_b")
    honey, _v = make_product(farm, name="Miele di acacia", category="honey")
    make_product(farm, name="Miele di tiglio", category="honey")
    make_product(coop, name="Olio nuovo", category="oil")
    first = client.get("/shop").get_data(as_text=True)
    assert options(first, "cf-category")["honey"] == "Miele (2)"
    assert options(first, "cf-producer")[str(farm.id)] == f"{farm.name} (2)"
    assert found(first) == "3 prodotti trovati"
    with Statements() as again:
        assert client.get("/shop").get_data(as_text=True) == first
    assert again.grouped() == [] and again.counts() == []

    # Published: counted on the next request.
    make_product(coop, name="Miele di castagno", category="honey")
    published = client.get("/shop").get_data(as_text=True)
    assert options(published, "cf-category")["honey"] == "Miele (3)"
    assert options(published, "cf-producer")[str(coop.id)] == f"{coop.name} (2)"
    assert found(published) == "4 prodotti trovati" and "Miele di castagno" in published

    # Taken off sale by the producer.
    honey.active = False
    deactivated = client.get("/shop").get_data(as_text=True)
    assert options(deactivated, "cf-category")["honey"] == "Miele (2)"
    assert found(deactivated) == "3 prodotti trovati" and "Miele di acacia" not in deactivated

    # A shop closed takes its products and its producer out of the filters.
    db.session.get(ProducerProfile, farm.id).active = False
    services.reindex_producer_products(farm.id)
    closed = client.get("/shop").get_data(as_text=True)
    assert str(farm.id) not in options(closed, "cf-producer")
    assert options(closed, "cf-category")["honey"] == "Miele (1)"
    assert found(closed) == "2 prodotti trovati"

    # A producer no longer verified: the same.
    coop.verified_at = None
    assert found(client.get("/shop").get_data(as_text=True)) == "0 prodotti trovati"


def test_filtered_counts_are_kept_apart(client, db_session):
    farm, _u = make_producer()
    coop, _u2 = make_producer("cooperative_b")
    make_product(farm, category="honey")
    make_product(farm, category="oil", organic_body="IT-BIO-006", organic_number="B1", organic=True)
    make_product(coop, category="oil")
    by_farm = client.get(f"/shop?producer={farm.id}").get_data(as_text=True)
    assert options(by_farm, "cf-category")["oil"] == "Olio d'oliva (1)"
    # The producer facet ignores the producer filter: every producer keeps its count.
    assert options(by_farm, "cf-producer")[str(coop.id)] == f"{coop.name} (1)"
    assert found(by_farm) == "2 prodotti trovati"
    by_oil = client.get("/shop?category=oil").get_data(as_text=True)
    assert options(by_oil, "cf-category")["honey"] == "Miele (1)"
    assert options(by_oil, "cf-producer")[str(farm.id)] == f"{farm.name} (1)"
    assert found(by_oil) == "2 prodotti trovati"
    organic = client.get("/shop?organic=1").get_data(as_text=True)
    assert options(organic, "cf-category")["oil"] == "Olio d'oliva (1)"
    assert found(organic) == "1 prodotto trovato"
    assert found(client.get("/shop").get_data(as_text=True)) == "3 prodotti trovati"


def test_a_search_is_answered_again_after_a_change(client, db_session):
    farm, _u = make_producer()
    make_product(farm, name="Miele di castagno")
    db.session.commit()
    search.drain()
    assert found(client.get("/shop?q=castagno").get_data(as_text=True)) == "1 prodotto trovato"
    make_product(farm, name="Pane al castagno", category="bakery")
    db.session.commit()
    search.drain()
    page = client.get("/shop?q=castagno").get_data(as_text=True)
    assert found(page) == "2 prodotti trovati" and "Pane al castagno" in page
    assert options(page, "cf-category")["bakery"] == "Pane, pasta e prodotti da forno (1)"


def test_cards_show_name_producer_price_and_the_label_in_short(client, db_session):
    farm, _u = make_producer()
    product, _v = make_product(
        farm, name="Passata", category="preserves", price="3.20", name_en="Tomato sauce"
    )
    product.variants += [
        Variant(label="Bottiglia", unit="bottle", price=Decimal("2.10"), vat_rate=Decimal("4")),
        Variant(
            label="Fuori vendita",
            unit="bottle",
            price=Decimal("1.00"),
            vat_rate=Decimal("4"),
            active=False,
        ),
    ]
    bare, _v = make_product(farm, name="Senza varianti")
    bare.variants[0].active = False
    db.session.flush()
    html = client.get("/shop").get_data(as_text=True)
    card = html.split(f'aria-labelledby="product-{product.id}-title"')[1].split("</article>")[0]
    assert f'href="/shop/products/{product.id}"' in card and ">Passata</a>" in card
    assert f"{farm.name} · Conserve e salse" in card
    assert f"da {euro(Decimal('2.10'))}" in card  # the lowest active variant
    summary = re.findall(r'data-fact-summary="[a-z_0-9]+">([^<]*)<', card)
    assert summary == [str(escape(f.text)) for f in label_summary(product)] and summary
    bare_card = html.split(f'aria-labelledby="product-{bare.id}-title"')[1].split("</article>")[0]
    assert "fw-semibold" not in bare_card  # no price without a variant on sale
    english = client.get("/shop?lang=en").get_data(as_text=True)
    assert ">Tomato sauce</a>" in english and "Preserves and sauces" in english
    with force_locale("en"):
        assert f"from {euro(Decimal('2.10'))}" in english


def test_producer_shop_lists_its_products_with_prices_and_its_label(client, db_session):
    farm, _u = make_producer(art2_activities=["a", "d"])
    other, _u2 = make_producer()
    jam, _v = make_product(farm, name="Confettura", price="5.00")
    make_product(farm, name="Albicocche", price="3.50", organic_body="IT-BIO", organic_number="9")
    make_product(other, name="Miele altrui")
    jam.active = False
    make_product(farm, name="Zucchine", price="2.00")
    html = client.get(f"/shop/producers/{farm.id}").get_data(as_text=True)
    listed = re.findall(r'<a href="/shop/products/(\d+)">([^<]*)</a>([^<]*)</li>', html)
    assert [(name, price.strip()) for _id, name, price in listed] == [
        ("Albicocche", f"– da {euro(Decimal('3.50'))}"),
        ("Zucchine", f"– da {euro(Decimal('2.00'))}"),
    ]
    sample = db.session.get(Product, int(listed[0][0]))
    expected = [f.text for f in label_facts(sample) if f.code not in ("origin", "organic")]
    shown = re.findall(r'<li data-fact="[a-z_0-9]+">([^<]*)</li>', html)
    assert shown == [str(escape(text)) for text in expected] and len(shown) == 3
    # The total counts the producer's public products only (remembered, then recounted).
    make_product(farm, name="Miele", price="6.00")
    assert "Miele</a>" in client.get(f"/shop/producers/{farm.id}").get_data(as_text=True)
    farm.verified_at = None
    assert client.get(f"/shop/producers/{farm.id}").status_code == 404


@pytest.mark.parametrize("locale", ["it", "en"])
def test_formats_print_as_the_template_filters(app, locale):
    from flask_babel import format_decimal

    with app.test_request_context("/shop"), force_locale(locale):
        fmt = formats.current()
        for amount in ("0.50", "4.5", "4.50", "1234.56", "1000000.00", 7, "12"):
            assert fmt.euro(amount) == euro(amount)
            assert fmt.euro(Decimal(amount)) == euro(Decimal(amount))
        for n in (0, 7, 1234, 1000000):
            assert fmt.number(n) == format_decimal(n)
        assert fmt.number(Decimal("5.0")) == format_decimal(Decimal("5.0"))
        assert fmt.number(None) == "" and fmt.euro(None) == ""
        product_url = row_url("ethical_products.product_detail", "product_id")
        for pid in (1, 42, 2147483647):
            assert product_url(pid) == url_for("ethical_products.product_detail", product_id=pid)


def test_listing_orders_have_their_indexes():
    indexes = {i.name: [c.name for c in i.columns] for i in Product.__table__.indexes}
    assert indexes["ix_ep_product_listing"] == ["active", "name", "id"]
    assert indexes["ix_ep_product_producer_listing"] == ["producer_id", "active", "name", "id"]
    assert indexes["ix_ep_product_category_listing"][:4] == ["active", "category", "name", "id"]
    # The facets: by category and producer, then the columns of the filters that count.
    assert indexes["ix_ep_product_active_category"] == [
        "active",
        "category",
        "producer_id",
        "organic",
        "season_from",
        "season_to",
    ]


def test_photos_and_variants_in_their_order_on_card_and_page(client, db_session):
    farm, _u = make_producer()
    plain, _v = make_product(farm, name="Semplice")
    product, _v2 = make_product(farm, name="Con foto")
    product.variants += [
        Variant(label=f"Formato {n}", unit="jar", price=Decimal(f"{n}.00"), vat_rate=Decimal("4"))
        for n in (9, 8)
    ]
    for position, name in ((2, "c"), (0, "a"), (1, "b")):
        db.session.add(
            Photo(
                product_id=product.id,
                filename=f"{name}-{product.id}.jpg",
                thumb_filename=f"{name}-{product.id}-t.jpg",
                width=800,
                height=600,
                alt=f"Foto {name}",
                position=position,
            )
        )
    db.session.flush()
    html = client.get("/shop").get_data(as_text=True)
    card = html.split(f'aria-labelledby="product-{product.id}-title"')[1].split("</article>")[0]
    assert f'src="/shop/photos/a-{product.id}-t.jpg" alt="Foto a"' in card
    assert (
        "<img"
        not in html.split(f'aria-labelledby="product-{plain.id}-title"')[1].split("</article>")[0]
    )

    def page_and_selects(item):
        db.session.commit()
        db.session.expunge_all()  # the page loads the product as a new request does
        with Statements() as seen:
            page = client.get(f"/shop/products/{item.id}").get_data(as_text=True)
        return page, len([s for s in seen.seen if s.startswith("SELECT")])

    page, selects = page_and_selects(product)
    assert re.findall(r'src="/shop/photos/([a-c])-\d+\.jpg"', page) == ["a", "b", "c"]
    assert re.findall(r"(Vasetto 250 g|Formato \d)", page) == [
        "Vasetto 250 g",
        "Formato 9",
        "Formato 8",
    ]
    # One query, whatever the number of photos and variants.
    assert selects == page_and_selects(plain)[1] == 1


def test_a_search_page_is_the_listing_of_the_matches_in_rank_order(
    app, client, db_session, monkeypatch
):
    farm, _u = make_producer()
    coop, _u2 = make_producer("cooperative_b")
    for n, (org, category) in enumerate(
        [(farm, "honey"), (coop, "honey"), (farm, "bakery"), (coop, "fruit"), (farm, "honey")]
    ):
        make_product(org, name=f"Castagno {'scuro ' * n}{n}", category=category)
    make_product(farm, name="Olio nuovo", category="oil")
    db.session.commit()
    search.drain()
    ranked = services.search_ids("castagno")
    assert len(ranked) == 5
    for filters in (
        services.CatalogueFilters(q="castagno"),
        services.CatalogueFilters(q="castagno", category="honey"),
        services.CatalogueFilters(q="castagno", producer_id=coop.id),
    ):
        listing = services.card_statement(services.catalogue(filters, ranked=ranked))
        for number in (1, 2, 3):
            expected = db.paginate(listing, number, 2, scalars=False, count_limit=3)
            got = services.ranked_page(filters, ranked, number, 2, count_limit=3)
            assert [r.id for r in got.items] == [r.id for r in expected.items]
            assert (got.total, got.total_capped, got.pages) == (
                expected.total,
                expected.total_capped,
                expected.pages,
            )
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    second = client.get("/shop?q=castagno&category=honey&page=2").get_data(as_text=True)
    shown = re.findall(r'id="product-(\d+)-title"', second)
    honey = services.catalogue(
        services.CatalogueFilters(q="castagno", category="honey"), ranked=ranked
    )
    assert [int(i) for i in shown] == [
        r.id for r in db.paginate(services.card_statement(honey), 2, 2, scalars=False).items
    ]
    assert found(second) == "3 prodotti trovati"


def test_facets_are_the_counts_of_the_listing_without_their_own_filter(db_session):
    from dataclasses import replace

    farm, _u = make_producer()
    coop, _u2 = make_producer("cooperative_b", art2_activities=["b"])
    for org, category, organic in [
        (farm, "honey", True),
        (farm, "honey", False),
        (farm, "oil", False),
        (coop, "oil", True),
        (coop, "fruit", False),
    ]:
        make_product(org, category=category, organic=organic)
    F = services.CatalogueFilters
    for filters in (
        F(),
        F(category="honey"),
        F(producer_id=coop.id),
        F(category="oil", producer_id=farm.id),
        F(category="fruit", producer_id=farm.id),
        F(organic=True),
        F(organic=True, category="oil"),
        F(activities=["b"]),
    ):
        expected = (
            services.facet_counts(
                services.catalogue(replace(filters, category=None)), Product.category
            ),
            services.facet_counts(
                services.catalogue(replace(filters, producer_id=None)), Product.producer_id
            ),
        )
        assert services.catalogue_facets(filters) == expected, filters
