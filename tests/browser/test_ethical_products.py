"""A guest buys from two producers with an offline method; each producer sees its lines."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "Ponte-demo-2026"
# Demo producers with a sign-in, and a product each sells that the other does not.
COOPERATIVE = ("Cooperativa Sociale Il Ponte", "cooperative@ponte.demo", "Miele millefiori")
FARM = ("Fattoria Sociale Terre del Liri", "farm@ponte.demo", "Uova fresche")


@pytest.fixture(scope="module")
def shops(live_app) -> dict[str, int]:
    from sqlalchemy import select

    from portal import db
    from portal.models import Organisation

    with live_app.app_context():
        return dict(
            db.session.execute(
                select(Organisation.name, Organisation.id).where(
                    Organisation.name.in_([COOPERATIVE[0], FARM[0]])
                )
            ).all()
        )


def header(page: Any):
    return page.locator("header.it-header-wrapper")


def add_to_cart(page: Any, t: Any, shop_id: int, product: str) -> None:
    page.goto(f"/shop/producers/{shop_id}")
    page.get_by_role("main").get_by_role("link", name=product, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(product)
    expect(page.locator("[data-label-facts]")).to_be_visible()
    page.get_by_role("button", name=t("Add to cart")).click()
    expect(page.get_by_role("status")).to_contain_text(t("%(name)s is in your cart.", name=product))


def sign_in(page: Any, t: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(header(page).get_by_role("button", name=t("Sign out"))).to_be_visible()


def test_guest_buys_from_two_producers_and_each_sees_its_lines(page, t, axe, shops):
    page.goto("/")
    page.get_by_role("navigation", name=t("Main menu")).get_by_role(
        "link", name=t("Ethical products")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Ethical products"))
    axe(page)

    add_to_cart(page, t, shops[COOPERATIVE[0]], COOPERATIVE[2])
    add_to_cart(page, t, shops[FARM[0]], FARM[2])

    page.goto("/shop/cart")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=2, name=COOPERATIVE[0])).to_be_visible()
    expect(main.get_by_role("heading", level=2, name=FARM[0])).to_be_visible()
    main.get_by_role("link", name=t("Go to checkout")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Checkout"))
    axe(page)

    page.get_by_label(t("Full name"), exact=True).fill("Teresa Guest")
    page.get_by_label(t("E-mail"), exact=True).fill("teresa.guest@example.it")
    page.get_by_label(t("Bank transfer to the producer"), exact=True).check()
    page.get_by_role("button", name=t("Confirm the order")).click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"#\d+"))
    reference = heading.inner_text().split("#")[1].strip()
    # Nothing is paid yet: the order is placed, not confirmed.
    expect(page.get_by_role("status")).to_contain_text(
        t("Order placed: awaiting your bank transfer. The producers' bank details are below.")
    )
    expect(page.get_by_role("status")).not_to_contain_text(t("Thank you: your order is confirmed."))
    main = page.get_by_role("main")
    expect(main).to_contain_text("IBAN")
    expect(main).to_contain_text(COOPERATIVE[2])
    expect(main).to_contain_text(FARM[2])
    axe(page)

    for _name, email, product in (COOPERATIVE, FARM):
        other = FARM[2] if product == COOPERATIVE[2] else COOPERATIVE[2]
        page.context.clear_cookies()
        sign_in(page, t, email)
        page.goto("/shop/manage/orders")
        row = page.get_by_role("row").filter(has_text=f"#{reference}")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(product)
        expect(row).not_to_contain_text(other)
        row.get_by_role("link", name=f"#{reference}").click()
        expect(page.get_by_role("main")).to_contain_text(product)
        expect(page.get_by_role("main")).not_to_contain_text(other)
        page.get_by_role("button", name=t("Payment received")).click()
        expect(page.get_by_role("status")).to_contain_text(t("Paid"))


PHONE = {"width": 390, "height": 844}


def test_cart_and_checkout_fit_a_phone(page, t, axe, shops):
    page.set_viewport_size(PHONE)
    add_to_cart(page, t, shops[COOPERATIVE[0]], COOPERATIVE[2])
    add_to_cart(page, t, shops[FARM[0]], FARM[2])
    page.goto("/shop/cart")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"/shop/cart is {overflow}px wider than a 390px phone"
    removes = page.get_by_role("main").get_by_role("button", name=re.compile(t("Remove")))
    expect(removes).to_have_count(2)
    for i in range(2):
        box = removes.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # The checkout button keeps its distance from the GAS heading below it.
    button = page.get_by_role("link", name=t("Go to checkout")).bounding_box()
    heading = page.get_by_role(
        "heading", name=t("Buying for a solidarity purchasing group (GAS)?")
    ).bounding_box()
    assert button is not None and heading is not None
    assert heading["y"] - (button["y"] + button["height"]) >= 24
    # Every table's caption sits above it.
    sides = page.evaluate(
        "() => [...document.querySelectorAll('main caption')]"
        ".map(c => getComputedStyle(c).captionSide)"
    )
    assert sides and set(sides) == {"top"}
    axe(page)

    # Checkout: with JavaScript only the chosen buyer type's fields show.
    page.get_by_role("link", name=t("Go to checkout")).click()
    gas = page.get_by_role("group", name=t("Solidarity purchasing groups (GAS) only"))
    canteen = page.get_by_role("group", name=t("Public canteens only: invoice details"))
    expect(gas).to_be_hidden()
    expect(canteen).to_be_hidden()
    page.locator("label", has_text=t("Public canteen")).click()
    expect(page.get_by_label(t("Public canteen"), exact=True)).to_be_checked()
    expect(canteen).to_be_visible()
    expect(gas).to_be_hidden()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    # Errors: a summary at the top, focused, linking to each field.
    page.get_by_role("button", name=t("Confirm the order")).click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(canteen).to_be_visible()
    summary.get_by_role("link", name=re.compile(t("Full name"))).click()
    expect(page.get_by_label(t("Full name"), exact=True)).to_be_focused()
    axe(page)
