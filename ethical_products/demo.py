"""Demo data: a dozen verified producers (the portal's social farms and type-B
cooperatives, plus seven more) with shops, products and a few past orders. Idempotent.

At scale "large" the catalogue grows to 50,000 products with bulk inserts (the portal
rebuilds the search index once at the end of a large seed).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from ethical_products import services
from ethical_products.models import (
    BANK_TRANSFER,
    COLLECTED,
    DELIVERED,
    PAY_ON_PICKUP,
    Order,
    ProducerProfile,
    Product,
    Variant,
)
from portal import accounts, db
from portal.db import utcnow
from portal.models import COOPERATIVE_B, SOCIAL_FARM_KIND, Organisation, slugify

LARGE_TARGET = 50_000

# Producers the portal's demo does not have yet: (name, kind, comune, register entry, story).
EXTRA_PRODUCERS: list[dict[str, Any]] = [
    {
        "name": "Fattoria Sociale La Collina",
        "kind": SOCIAL_FARM_KIND,
        "comune_code": "093032",
        "regional_register": "FVG Elenco fattorie sociali n. 23",
        "description": "Orti e frutteti sulle colline di Porcia con tirocini per giovani.",
    },
    {
        "name": "Agricoltura Sociale Cascina Solidale",
        "kind": SOCIAL_FARM_KIND,
        "comune_code": "001272",
        "regional_register": "Piemonte Albo agricoltura sociale n. 8",
        "description": "Cascina alle porte di Torino: ortaggi, uova e laboratori didattici.",
    },
    {
        "name": "Fattoria Sociale Oliveto della Valle",
        "kind": SOCIAL_FARM_KIND,
        "comune_code": "060038",
        "regional_register": "Lazio RASL n. 57",
        "description": "Olio extravergine e legumi della Valle del Sacco.",
    },
    {
        "name": "Fattoria Sociale Api di Brianza",
        "kind": SOCIAL_FARM_KIND,
        "comune_code": "108033",
        "regional_register": "Lombardia Elenco fattorie sociali n. 31",
        "description": "Apicoltura e fattoria didattica per le scuole.",
    },
    {
        "name": "Cooperativa Sociale Pane e Lavoro",
        "kind": COOPERATIVE_B,
        "comune_code": "093033",
        "register_number": "A117733",
        "description": "Forno sociale: pane, grissini e biscotti con persone svantaggiate.",
    },
    {
        "name": "Cooperativa Sociale Orti di Città",
        "kind": COOPERATIVE_B,
        "comune_code": "058091",
        "register_number": "A228844",
        "description": "Orti urbani e cassette di verdura di stagione.",
    },
    {
        "name": "Cooperativa Sociale Vigna Nuova",
        "kind": COOPERATIVE_B,
        "comune_code": "001272",
        "register_number": "A339955",
        "description": "Vigneto e cantina: inserimento lavorativo nella filiera del vino.",
    },
]

PORTAL_PRODUCERS = (
    "Cooperativa Sociale Il Ponte",
    "Cooperativa Sociale La Fenice",
    "Cooperativa Sociale Monza Lavoro",
    "Fattoria Sociale Terre del Liri",
    "Fattoria Sociale Il Melograno",
)

# (name it, name en, category, description it, description en, variants, organic, season)
CATALOGUE: list[
    tuple[
        str,
        str,
        str,
        str,
        str,
        list[tuple[str, str, int | None, str, str]],
        bool,
        tuple[int, int] | None,
    ]
] = [
    (
        "Miele millefiori",
        "Wildflower honey",
        "honey",
        "Miele millefiori raccolto dalle nostre arnie, non pastorizzato.",
        "Wildflower honey from our hives, unpasteurised.",
        [
            ("Vasetto 250 g", "jar", 250, "6.50", "10.00"),
            ("Vasetto 500 g", "jar", 500, "11.00", "10.00"),
        ],
        True,
        None,
    ),
    (
        "Passata di pomodoro",
        "Tomato passata",
        "preserves",
        "Passata di pomodori San Marzano coltivati e trasformati in fattoria.",
        "Passata of San Marzano tomatoes grown and made on the farm.",
        [("Bottiglia 700 g", "bottle", 700, "3.80", "4.00")],
        True,
        None,
    ),
    (
        "Cassetta di verdure di stagione",
        "Seasonal vegetable box",
        "vegetables",
        "Cassetta di verdure raccolte il giorno prima della consegna.",
        "A box of vegetables picked the day before delivery.",
        [
            ("Cassetta 5 kg", "box", 5000, "15.00", "4.00"),
            ("Cassetta 3 kg", "box", 3000, "9.50", "4.00"),
        ],
        False,
        None,
    ),
    (
        "Olio extravergine di oliva",
        "Extra virgin olive oil",
        "oil",
        "Olio extravergine spremuto a freddo dalle olive dei nostri uliveti.",
        "Cold-pressed extra virgin olive oil from our olive groves.",
        [
            ("Bottiglia 0,5 l", "bottle", None, "9.90", "4.00"),
            ("Latta 3 l", "l", None, "48.00", "4.00"),
        ],
        True,
        None,
    ),
    (
        "Confettura di albicocche",
        "Apricot jam",
        "preserves",
        "Confettura extra con il 70% di frutta.",
        "Extra jam with 70% fruit.",
        [("Vasetto 340 g", "jar", 340, "4.90", "10.00")],
        False,
        None,
    ),
    (
        "Mele Fuji",
        "Fuji apples",
        "fruit",
        "Mele Fuji del nostro frutteto.",
        "Fuji apples from our orchard.",
        [("Sacchetto 2 kg", "kg", 2000, "5.20", "4.00")],
        False,
        (9, 3),
    ),
    (
        "Uova fresche",
        "Fresh eggs",
        "eggs_meat",
        "Uova di galline allevate all'aperto.",
        "Eggs from free-range hens.",
        [("Confezione da 6", "box", None, "3.20", "10.00")],
        False,
        None,
    ),
    (
        "Pane di grani antichi",
        "Ancient grain bread",
        "bakery",
        "Pane a lievitazione naturale con farine di grani antichi.",
        "Sourdough bread made with ancient grain flours.",
        [("Pagnotta 1 kg", "piece", 1000, "5.00", "4.00")],
        False,
        None,
    ),
    (
        "Lenticchie",
        "Lentils",
        "legumes",
        "Lenticchie coltivate senza irrigazione.",
        "Lentils grown without irrigation.",
        [("Sacchetto 500 g", "g", 500, "4.20", "4.00")],
        True,
        None,
    ),
    (
        "Vino rosso della cooperativa",
        "Cooperative red wine",
        "wine",
        "Vino rosso da uve del nostro vigneto.",
        "Red wine from our vineyard's grapes.",
        [("Bottiglia 0,75 l", "bottle", None, "8.50", "22.00")],
        False,
        None,
    ),
    (
        "Formaggio caprino",
        "Goat cheese",
        "dairy",
        "Caprino fresco a latte crudo.",
        "Fresh raw-milk goat cheese.",
        [("Forma 250 g", "piece", 250, "6.00", "4.00")],
        False,
        None,
    ),
    (
        "Piantine aromatiche",
        "Aromatic herb seedlings",
        "plants",
        "Basilico, salvia e rosmarino in vaso.",
        "Basil, sage and rosemary in pots.",
        [("Vaso 14 cm", "piece", None, "3.00", "10.00")],
        False,
        (3, 9),
    ),
]

STORIES = (
    "Lavoriamo la terra con persone che vengono dai servizi del territorio: tirocini, "
    "borse lavoro e assunzioni. Ogni prodotto è raccolto e confezionato da noi.",
    "Siamo nati da un progetto con il servizio di inserimento lavorativo: oggi la nostra "
    "squadra cura orti, frutteti e laboratori di trasformazione.",
)
STORIES_EN = (
    "We farm with people referred by local services: internships, work grants and hires. "
    "Every product is picked and packed by us.",
    "We started from a project with the work inclusion service: today our team tends "
    "gardens, orchards and processing workshops.",
)


def iban(seed: int) -> str:
    """A valid (check-digit) Italian IBAN for demo producers."""
    bban = f"X{3069 + seed:05d}{11210 + seed:05d}{seed:012d}"
    digits = "".join(str(int(c, 36)) for c in bban + "IT00")
    check = 98 - int(digits) % 97
    return f"IT{check:02d}{bban}"


def producers() -> list[Organisation]:
    found = []
    for name in PORTAL_PRODUCERS:
        org = accounts.find_organisation(name)
        if org is not None:
            found.append(org)
    for spec in EXTRA_PRODUCERS:
        org = accounts.find_organisation(spec["name"])
        if org is None:
            fields = {k: v for k, v in spec.items() if k not in ("name", "kind")}
            org = accounts.create_organisation(spec["name"], spec["kind"], **fields)
            org.email = f"info@{slugify(spec['name'])[:30]}.ponte.demo"
            db.session.flush()
        if org.verified_at is None:
            accounts.verify_organisation(org, admin=None, reason="demo data")
        found.append(org)
    db.session.flush()
    return found


def seed(scale: str = "small", echo: Callable[[str], Any] = print) -> None:
    orgs = producers()
    rng = random.Random(141)  # L. 141/2015
    added = 0
    for n, org in enumerate(orgs):
        profile = db.session.get(ProducerProfile, org.id)
        if profile is None:
            social = org.kind == SOCIAL_FARM_KIND
            profile = ProducerProfile(
                organisation_id=org.id,
                active=True,
                story=STORIES[n % 2],
                story_en=STORIES_EN[n % 2],
                pickup_points=f"{org.name}, {org.municipality.name if org.municipality else ''}"
                " – sabato 9-12",
                delivery_radius_km=30 if n % 3 else 0,
                accepts_bank_transfer=True,
                iban=iban(n + 1),
                accepts_pay_on_pickup=True,
                art2_activities=(["a", "d"] if social else ["a"]) if n % 4 else [],
                inclusion_hours_share=Decimal(str(20 + 5 * (n % 8))) if n % 5 else None,
                inclusion_declared_on=date(2026, 1, 15) if n % 5 else None,
            )
            db.session.add(profile)
        if db.session.execute(
            select(func.count()).select_from(Product).where(Product.producer_id == org.id)
        ).scalar_one():
            continue
        for k in range(5):
            item = CATALOGUE[(n * 5 + k) % len(CATALOGUE)]
            added += 1
            db.session.add(_product(org, item, rng))
    db.session.flush()
    _past_orders(orgs)
    db.session.commit()
    if added:
        echo(f"Ethical products: {len(orgs)} producers, {added} products.")
    if scale == "large":
        _large_catalogue(orgs, echo)


def _product(org: Organisation, item: Any, rng: random.Random) -> Product:
    name, name_en, category, desc, desc_en, variants, organic, season = item
    product = Product(
        producer_id=org.id,
        producer=org,
        name=name,
        name_en=name_en,
        category=category,
        description=desc,
        description_en=desc_en,
        comune_code=org.comune_code or "093033",
        season_from=season[0] if season else None,
        season_to=season[1] if season else None,
        organic_body="IT-BIO-006" if organic else "",
        organic_number=f"B{rng.randint(10000, 99999)}" if organic else "",
        organic=organic,
        active=True,
    )
    product.variants = [
        Variant(
            label=label,
            unit=unit,
            weight_grams=grams,
            price=Decimal(price),
            vat_rate=Decimal(vat),
            stock=None if grams is None else rng.randint(8, 60),
        )
        for label, unit, grams, price, vat in variants
    ]
    return product


def _past_orders(orgs: list[Organisation]) -> None:
    """A few fulfilled orders, so the producers' lists and reports are not empty."""
    if (
        db.session.execute(
            select(Order.id).where(Order.idempotency_key.like("demo-order-%")).limit(1)
        ).first()
        is not None
    ):
        return
    buyers = [
        ("Francesca Rinaldi", "buyer@ponte.demo", "person"),
        ("GAS Pordenone Centro", "gas.pordenone@ponte.demo", "gas"),
        ("Mensa scolastica di Pordenone", "mensa@ponte.demo", "canteen"),
        ("Marco Furlan", "marco.furlan@ponte.demo", "person"),
    ]
    now = utcnow()
    for n, (name, email, kind) in enumerate(buyers):
        chosen = [orgs[n % len(orgs)], orgs[(n + 3) % len(orgs)]]
        wanted: dict[int, dict[str, int]] = {}
        for org in chosen:
            variant = db.session.execute(
                select(Variant)
                .join(Product)
                .where(Product.producer_id == org.id)
                .order_by(Variant.id)
                .limit(1)
            ).scalar_one_or_none()
            if variant is not None:
                shares = {"Anna": 1, "Bruno": 2} if kind == "gas" else {"": 2}
                wanted[variant.id] = shares
        priced = services.price_cart(wanted)
        if priced.empty:
            continue
        data = services.CheckoutData(
            idempotency_key=f"demo-order-{n:04d}-ponte",
            name=name,
            email=email,
            payment_method=BANK_TRANSFER if n % 2 else PAY_ON_PICKUP,
            buyer_type=kind,
            gas_name=name if kind == "gas" else "",
            invoice_entity="Comune di Pordenone" if kind == "canteen" else "",
            invoice_tax_code="80002150938" if kind == "canteen" else "",
            invoice_sdi_code="UFABCD" if kind == "canteen" else "",
            # Placed signed in, as the demo buyer would: the order belongs to the account.
            buyer=accounts.find_user(email),
        )
        try:
            with db.session.begin_nested():
                order = services.place_order(data, priced, now=now - timedelta(days=3 + n))
        except services.ShopError:
            continue
        for sub in order.sub_orders:
            sub.status = COLLECTED if n % 2 == 0 else DELIVERED
            sub.paid_at = sub.ready_at = sub.completed_at = now - timedelta(days=2 + n)
        services.refresh_order_status(order)
        order.paid_at = now - timedelta(days=2 + n)


# --- Large scale ------------------------------------------------------------------------

ADJECTIVES = (
    "biologico",
    "di stagione",
    "artigianale",
    "di collina",
    "della valle",
    "a km zero",
    "tradizionale",
    "del contadino",
    "solidale",
    "antico",
    "dolce",
    "rustico",
    "fresco",
    "selezionato",
    "nostrano",
    "dell'orto",
    "di montagna",
    "estivo",
    "invernale",
    "al naturale",
)
ENGLISH_ADJECTIVES = (
    "organic",
    "seasonal",
    "handmade",
    "hill",
    "valley",
    "local",
    "traditional",
    "farmer's",
    "solidarity",
    "heritage",
    "sweet",
    "rustic",
    "fresh",
    "selected",
    "home-grown",
    "garden",
    "mountain",
    "summer",
    "winter",
    "natural",
)


def _large_catalogue(orgs: list[Organisation], echo: Callable[[str], Any]) -> None:
    existing = db.session.execute(select(func.count()).select_from(Product)).scalar_one()
    missing = LARGE_TARGET - existing
    if missing <= 0:
        return
    rng = random.Random(2015)
    now = utcnow()
    next_id = (db.session.execute(select(func.max(Product.id))).scalar_one() or 0) + 1
    combos = itertools.cycle(itertools.product(range(len(CATALOGUE)), range(len(ADJECTIVES))))
    batch = 5_000
    made = 0
    while made < missing:
        size = min(batch, missing - made)
        products, variants = [], []
        for i in range(size):
            item, adj = next(combos)
            name, name_en, category, desc, desc_en, specs, organic, season = CATALOGUE[item]
            org = orgs[(made + i) % len(orgs)]
            pid = next_id + made + i
            serial = (made + i) // (len(CATALOGUE) * len(ADJECTIVES)) + 1
            products.append(
                {
                    "id": pid,
                    "producer_id": org.id,
                    "name": f"{name} {ADJECTIVES[adj]} n. {serial}",
                    "name_en": f"{ENGLISH_ADJECTIVES[adj]} {name_en.lower()} no. {serial}",
                    "description": desc,
                    "description_en": desc_en,
                    "category": category,
                    "comune_code": org.comune_code or "093033",
                    "season_from": season[0] if season else None,
                    "season_to": season[1] if season else None,
                    "organic_body": "IT-BIO-006" if organic else "",
                    "organic_number": f"B{pid:06d}" if organic else "",
                    "organic": organic,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            label, unit, grams, price, vat = specs[0]
            variants.append(
                {
                    "product_id": pid,
                    "label": label,
                    "unit": unit,
                    "weight_grams": grams,
                    "price": Decimal(price),
                    "vat_rate": Decimal(vat),
                    "stock": None if grams is None else rng.randint(5, 200),
                    "active": True,
                }
            )
        db.session.execute(insert(Product), products)
        db.session.execute(insert(Variant), variants)
        db.session.commit()
        made += size
    _fix_sequence()
    echo(f"Ethical products: catalogue grown to {LARGE_TARGET} products.")


def _fix_sequence() -> None:
    """Explicit ids in bulk inserts: move PostgreSQL's sequence past them."""
    from sqlalchemy import text

    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('ep_product', 'id'), "
                "(SELECT MAX(id) FROM ep_product))"
            )
        )
        db.session.commit()
