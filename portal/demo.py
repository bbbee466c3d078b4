"""Demo data: a believable Italian network in a few provinces. Idempotent.

Domain packages add their own data through :func:`register_seeder`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from portal import accounts, db
from portal.db import utcnow
from portal.models import (
    ADMIN,
    BROKER,
    BUYER,
    COMPANY,
    COOPERATIVE,
    COOPERATIVE_B,
    EMPLOYER,
    MICROCREDIT_OFFICER,
    MICROCREDIT_ORG,
    PUBLIC_BODY,
    PUBLIC_OFFICER,
    SERVICE,
    SOCIAL_FARM,
    SOCIAL_FARM_KIND,
    Organisation,
    User,
    slugify,
)

DEMO_PASSWORD = "Ponte-demo-2026"  # noqa: S105 - printed on purpose: demo only

Seeder = Callable[[str, Callable[[str], Any]], None]

# (name, kind, service type, comune ISTAT code, description, register numbers)
ORGANISATIONS: list[dict[str, Any]] = [
    {
        "name": "ASL Frosinone – Dipartimento 3D",
        "kind": SERVICE,
        "service_type": "sert",
        "comune_code": "060038",
        "description": "Dipartimento dipendenze, disagio e devianza: percorsi di inserimento "
        "lavorativo in rete con imprese e cooperative.",
    },
    {
        "name": "SIL Pordenone – Servizio Inserimento Lavorativo",
        "kind": SERVICE,
        "service_type": "sil",
        "comune_code": "093033",
        "description": "Servizio di inserimento lavorativo delegato dai Comuni per persone con "
        "disabilità, salute mentale e dipendenze.",
    },
    {
        "name": "DSM Pordenone – Centro di Salute Mentale",
        "kind": SERVICE,
        "service_type": "dsm",
        "comune_code": "093033",
        "description": "Centro di salute mentale: laboratori di osservazione e tirocini.",
    },
    {
        "name": "Centro per l'Impiego di Monza",
        "kind": SERVICE,
        "service_type": "job_centre",
        "comune_code": "108033",
        "description": "Collocamento mirato (L. 68/1999) e servizi per il lavoro.",
    },
    {
        "name": "Servizio Sociale dei Comuni – Ambito Urbano Pordenone",
        "kind": SERVICE,
        "service_type": "social_services",
        "comune_code": "093033",
        "description": "Servizio sociale professionale e misure di contrasto alla povertà.",
    },
    {
        "name": "Ente di Formazione Relatium Lazio",
        "kind": SERVICE,
        "service_type": "training_body",
        "comune_code": "058091",
        "description": "Orientamento, formazione e brokeraggio sociale con le imprese.",
    },
    {
        "name": "Cooperativa Sociale Il Ponte",
        "kind": COOPERATIVE_B,
        "comune_code": "093033",
        "register_number": "A123456",
        "description": "Cooperativa di tipo B: manutenzione del verde, pulizie e logistica.",
    },
    {
        "name": "Cooperativa Sociale La Fenice",
        "kind": COOPERATIVE_B,
        "comune_code": "001272",
        "register_number": "A204517",
        "description": "Servizi di pulizia, custodia e gestione di archivi con persone "
        "svantaggiate.",
    },
    {
        "name": "Cooperativa Sociale Monza Lavoro",
        "kind": COOPERATIVE_B,
        "comune_code": "108033",
        "register_number": "A339912",
        "description": "Assemblaggio conto terzi, imballaggio e piccola logistica.",
    },
    {
        "name": "Fattoria Sociale Terre del Liri",
        "kind": SOCIAL_FARM_KIND,
        "comune_code": "060038",
        "regional_register": "Lazio RASL n. 42",
        "description": "Orticoltura biologica, trasformazione e vendita diretta con tirocini "
        "per persone in percorsi di inclusione.",
    },
    {
        "name": "Fattoria Sociale Il Melograno",
        "kind": SOCIAL_FARM_KIND,
        "comune_code": "093033",
        "regional_register": "FVG Elenco fattorie sociali n. 17",
        "description": "Frutteto, apicoltura e fattoria didattica.",
    },
    {
        "name": "Mobilificio Friulano S.p.A.",
        "kind": COMPANY,
        "comune_code": "093033",
        "description": "Produzione di mobili: 180 dipendenti, reparti di falegnameria e magazzino.",
    },
    {
        "name": "Logistica Ciociara S.r.l.",
        "kind": COMPANY,
        "comune_code": "060038",
        "description": "Magazzino e distribuzione per la grande distribuzione organizzata.",
    },
    {
        "name": "Ristorazione Brianza S.r.l.",
        "kind": COMPANY,
        "comune_code": "108033",
        "description": "Mense aziendali e scolastiche: cuochi, aiuto cuochi, addetti.",
    },
    {
        "name": "Officine Meccaniche Torinesi S.r.l.",
        "kind": COMPANY,
        "comune_code": "001272",
        "description": "Lavorazioni meccaniche di precisione: 45 dipendenti.",
    },
    {
        "name": "Comune di Pordenone",
        "kind": PUBLIC_BODY,
        "comune_code": "093033",
        "description": "Stazione appaltante: servizi con clausole sociali e appalti riservati.",
    },
    {
        "name": "Provincia di Frosinone",
        "kind": PUBLIC_BODY,
        "comune_code": "060038",
        "description": "Politiche del lavoro e collocamento mirato.",
    },
    {
        "name": "Microcredito Solidale Friuli",
        "kind": MICROCREDIT_ORG,
        "comune_code": "093033",
        "description": "Gruppi di microcredito di tipo Grameen per persone seguite dai servizi.",
    },
]

# (email local part, role, organisation name, full name)
DEMO_USERS: list[tuple[str, str, str | None, str]] = [
    ("admin", ADMIN, None, "Giulia Amministratrice"),
    ("employer", EMPLOYER, "Mobilificio Friulano S.p.A.", "Marco Zanin"),
    ("employer.fr", EMPLOYER, "Logistica Ciociara S.r.l.", "Anna Di Stefano"),
    ("cooperative", COOPERATIVE, "Cooperativa Sociale Il Ponte", "Paola Del Ben"),
    ("farm", SOCIAL_FARM, "Fattoria Sociale Terre del Liri", "Luca Ceccarelli"),
    ("broker", BROKER, "SIL Pordenone – Servizio Inserimento Lavorativo", "Chiara Bortolin"),
    ("broker.dsm", BROKER, "DSM Pordenone – Centro di Salute Mentale", "Davide Furlan"),
    ("broker.sert", BROKER, "ASL Frosinone – Dipartimento 3D", "Elena Mastrangeli"),
    ("officer", PUBLIC_OFFICER, "Comune di Pordenone", "Roberto Santin"),
    ("microcredit", MICROCREDIT_OFFICER, "Microcredito Solidale Friuli", "Sara Colussi"),
    ("buyer", BUYER, None, "Francesca Rinaldi"),
]

DEMO_DOMAIN = "ponte.demo"


def register_seeder(app: Any, seeder: Seeder) -> None:
    """Domain packages call this in their ``init_app`` to add demo data."""
    app.extensions.setdefault("ponte_demo_seeders", []).append(seeder)


def database_is_empty() -> bool:
    return db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def seed(scale: str = "small", echo: Callable[[str], Any] = print) -> None:
    orgs = _seed_organisations()
    _seed_users(orgs)
    db.session.commit()
    if scale == "large":
        _seed_large_directory(echo)
    for seeder in current_app.extensions.get("ponte_demo_seeders", []):
        seeder(scale, echo)
        db.session.commit()
    if scale == "large":
        # Bulk inserts bypass the search outbox: rebuild the index once at the end.
        from portal import search

        echo(f"Search index rebuilt: {search.reindex()} documents.")
    echo(f"Demo data ready ({scale}).")


def _seed_organisations() -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    for spec in ORGANISATIONS:
        org = accounts.find_organisation(spec["name"])
        if org is None:
            fields = {k: v for k, v in spec.items() if k not in ("name", "kind")}
            org = accounts.create_organisation(spec["name"], spec["kind"], **fields)
            org.email = f"info@{slugify(spec['name'])[:30]}.{DEMO_DOMAIN}"
        if org.verified_at is None:
            accounts.verify_organisation(org, admin=None, reason="demo data")
        found[org.name] = org
    db.session.flush()
    return found


def _seed_users(orgs: dict[str, Organisation]) -> None:
    password_hash = None
    for local, role, org_name, full_name in DEMO_USERS:
        email = f"{local}@{DEMO_DOMAIN}"
        if accounts.find_user(email) is not None:
            continue
        user = accounts.create_user(
            email, None, role, org_name=org_name, full_name=full_name, locale="it"
        )
        if password_hash is None:
            user.set_password(DEMO_PASSWORD)
            password_hash = user.password_hash
        else:
            user.password_hash = password_hash
    db.session.flush()


def print_logins(echo: Callable[[str], Any] = print) -> None:
    echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for local, role, org_name, _full_name in DEMO_USERS:
        echo(f"  {role:<20} {local + '@' + DEMO_DOMAIN:<26} {org_name or ''}")


# --- Large scale: a directory of 5,000 companies (modules add their documents) ---

# fmt: off
SURNAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "Bruno", "Gallo", "Conti", "DeLuca", "Mancini", "Costa", "Giordano",
    "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi",
    "Caruso", "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile", "Martinelli",
    "Vitale", "Lombardo", "Serra", "Coppola", "DeSantis", "DAngelo", "Marchetti", "Parisi",
    "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso",
    "Valentini", "Messina", "Sala", "DeRosa", "Gatti", "Pellegrini", "Palumbo", "Sanna",
    "Farina", "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza",
    "Testa", "Grassi", "Pellegrino", "Carbone", "Giuliani", "Benedetti", "Barone",
    "Rossetti", "Caputo", "Montanari", "Guerra", "Palmieri",
)
# fmt: on
SECTORS = (
    "Costruzioni",
    "Logistica",
    "Trasporti",
    "Pulizie",
    "Ristorazione",
    "Impianti Elettrici",
    "Carpenteria",
    "Falegnameria",
    "Giardinaggio",
    "Manutenzioni",
    "Meccanica",
    "Tessile",
    "Calzature",
    "Alimentari",
    "Panificio",
    "Pasticceria",
    "Lavanderia",
    "Tipografia",
    "Serramenti",
    "Ceramiche",
    "Autoriparazioni",
    "Idraulica",
    "Magazzini",
    "Imballaggi",
    "Vivai",
    "Agricola",
    "Caseificio",
    "Oleificio",
    "Cantina",
    "Hotel",
    "Servizi Digitali",
    "Commercio",
    "Ferramenta",
    "Arredamenti",
    "Verniciature",
    "Assemblaggi",
    "Plastica",
    "Metalli",
    "Cartotecnica",
    "Distribuzione",
)
FORMS = ("S.r.l.", "S.p.A.", "S.n.c.", "S.a.s.", "S.r.l.s.")
DESCRIPTIONS = (
    "Impresa del settore {s} con sede a {c}: cerchiamo magazzinieri, operai e addetti.",
    "Azienda di {s} a {c}, aperta a tirocini e inserimenti con tutor aziendale.",
    "{s} a {c}: giardinieri, cuochi e camerieri per la stagione, anche part-time.",
    "Da tre generazioni nel settore {s}; sede produttiva a {c}, accessibile senza barriere.",
)


def _seed_large_directory(echo: Callable[[str], Any], target: int = 5_000) -> None:
    existing = db.session.execute(
        select(func.count()).select_from(Organisation).where(Organisation.kind == COMPANY)
    ).scalar_one()
    missing = target - existing
    if missing <= 0:
        return
    from portal.models import Municipality

    rng = random.Random(68)  # L. 68/1999
    places = db.session.execute(
        select(Municipality.istat_code, Municipality.name).where(Municipality.lat.is_not(None))
    ).all()
    taken = set(db.session.execute(select(Organisation.name)).scalars())
    names = (
        f"{a} & {b} {s} {f}"
        for a, b, s, f in itertools.product(SURNAMES, SURNAMES, SECTORS, FORMS)
        if a != b
    )
    now = utcnow()
    rows = []
    for name in names:
        if len(rows) >= missing:
            break
        if name in taken:
            continue
        code, place = rng.choice(places)
        sector = name.split(" ", 3)[3].rsplit(" ", 1)[0]
        rows.append(
            {
                "name": name,
                "slug": slugify(name),
                "kind": COMPANY,
                "comune_code": code,
                "description": rng.choice(DESCRIPTIONS).format(s=sector.lower(), c=place),
                "address": "",
                "website": "",
                "email": "",
                "phone": "",
                "fiscal_code": "",
                "register_number": "",
                "regional_register": "",
                "verified_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Organisation), rows[start : start + 5000])
    db.session.commit()
    echo(f"Added {len(rows)} companies to the directory.")
