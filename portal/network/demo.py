"""Demo data of network life: good practices from the seeds, upcoming events, agreements.
Idempotent (everything is found by its title)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from portal import accounts, db
from portal.db import utcnow
from portal.models import slugify
from portal.network.models import (
    ACTIVE,
    ENTERPRISE_MEETING,
    HYBRID,
    IN_PERSON,
    ONLINE,
    OPERATOR_TRAINING,
    PUBLISHED,
    TABLE_OPERATIONAL,
    TABLE_POLITICAL,
    Agreement,
    Event,
    GoodPractice,
)
from portal.network.services import set_parties

PRACTICES: list[dict[str, Any]] = [
    {
        "org": "ASL Frosinone – Dipartimento 3D",
        "title": "Il modello di rete dei quattro sistemi per l'inserimento lavorativo",
        "summary": "Sanità, sociale, formazione e lavoro lavorano con le imprese su un unico "
        "progetto personale: l'inserimento è l'incontro tra i bisogni della persona e quelli "
        "dell'azienda.",
        "body": "Il Dipartimento 3D ha costruito una rete stabile tra servizi sanitari, "
        "servizi sociali dei Comuni, enti di formazione e centri per l'impiego.\n\n"
        "Le imprese sono protagoniste: partecipano alla definizione dei profili e "
        "accolgono tirocini con tutor aziendale.",
        "region": "Lazio",
        "province": "FR",
        "themes": ["network_governance", "employer_engagement"],
        "targets": ["addiction", "mental_health"],
    },
    {
        "org": "SIL Pordenone – Servizio Inserimento Lavorativo",
        "title": "Laboratori di osservazione di 3-6 mesi prima del tirocinio",
        "summary": "Un periodo protetto di osservazione in cooperativa permette di conoscere "
        "competenze e bisogni prima dell'inserimento in azienda.",
        "body": "Il laboratorio di osservazione dura da tre a sei mesi ed è seguito da un "
        "operatore del servizio e da un tutor della cooperativa.\n\nAl termine una "
        "relazione condivisa orienta verso la borsa lavoro o il tirocinio.",
        "region": "Friuli-Venezia Giulia",
        "province": "PN",
        "themes": ["observation_labs", "supported_employment"],
        "targets": ["disability", "mental_health", "addiction"],
    },
    {
        "org": "Comune di Pordenone",
        "title": "Clausole sociali negli appalti dei servizi di manutenzione del verde",
        "summary": "Il Comune riserva i servizi del verde sotto soglia alle cooperative di "
        "tipo B e inserisce clausole di inclusione negli appalti sopra soglia.",
        "body": "Con le convenzioni dell'art. 5 della L. 381/1991 e gli appalti riservati "
        "dell'art. 61 del D.Lgs. 36/2023 il Comune ha creato posti di lavoro stabili.",
        "region": "Friuli-Venezia Giulia",
        "province": "PN",
        "themes": ["social_clauses"],
        "targets": ["disability", "long_term_unemployed"],
    },
    {
        "org": "Fattoria Sociale Terre del Liri",
        "title": "Il prodotto etico delle fattorie sociali",
        "summary": "Un'etichetta che dichiara fatti verificabili: iscrizione al registro, "
        "attività svolte e quota di lavoro delle persone in percorso.",
        "body": "La fattoria vende ortaggi e conserve con un'etichetta trasparente.",
        "region": "Lazio",
        "province": "FR",
        "themes": ["social_agriculture"],
        "targets": ["disability", "young_people"],
    },
]

EVENTS: list[dict[str, Any]] = [
    {
        "org": "Ente di Formazione Relatium Lazio",
        "title": "Incontro con le imprese: assumere con il collocamento mirato",
        "kind": ENTERPRISE_MEETING,
        "days": 10,
        "hour": 17,
        "mode": IN_PERSON,
        "venue": "Sala conferenze",
        "address": "Via Roma 1",
        "comune": "058091",
        "capacity": 40,
        "description": "Come funzionano la quota della L. 68/1999, le convenzioni e i "
        "tirocini con tutor; testimonianze di imprese della rete.",
    },
    {
        "org": "SIL Pordenone – Servizio Inserimento Lavorativo",
        "title": "Formazione per operatori: il metodo IPS",
        "kind": OPERATOR_TRAINING,
        "days": 20,
        "hour": 9,
        "mode": HYBRID,
        "venue": "Centro servizi",
        "address": "Piazza XX Settembre 2",
        "comune": "093033",
        "online": "https://meet.example.org/ips-pordenone",
        "capacity": 3,
        "description": "Il collocamento e sostegno individuale: primo contatto con le "
        "aziende entro 30 giorni, caseload sostenibile, supporto continuativo.",
    },
    {
        "org": "Comune di Pordenone",
        "title": "Tavolo tecnico-politico della rete per l'inclusione lavorativa",
        "kind": TABLE_POLITICAL,
        "days": 30,
        "hour": 15,
        "mode": IN_PERSON,
        "venue": "Municipio, sala consiliare",
        "address": "Corso Vittorio Emanuele II 64",
        "comune": "093033",
        "capacity": None,
        "description": "Indirizzi annuali, indicatori di risultato e priorità del piano di zona.",
    },
    {
        "org": "DSM Pordenone – Centro di Salute Mentale",
        "title": "Tavolo tecnico-operativo: casi e procedure condivise",
        "kind": TABLE_OPERATIONAL,
        "days": 14,
        "hour": 10,
        "mode": ONLINE,
        "online": "https://meet.example.org/tavolo-operativo",
        "capacity": 25,
        "description": "Procedure di invio, passaggi di presa in carico e monitoraggio.",
    },
]

AGREEMENTS: list[dict[str, Any]] = [
    {
        "org": "Comune di Pordenone",
        "title": "Protocollo d'intesa per la rete dell'inclusione lavorativa dell'Ambito",
        "kind": "protocol",
        "parties": [
            "SIL Pordenone – Servizio Inserimento Lavorativo",
            "DSM Pordenone – Centro di Salute Mentale",
            "Servizio Sociale dei Comuni – Ambito Urbano Pordenone",
            "Cooperativa Sociale Il Ponte",
        ],
        "others": ["Confcooperative Pordenone"],
        "start": -300,
        "end": 40,
    },
    {
        "org": "Comune di Pordenone",
        "title": "Convenzione art. 5 L. 381/1991 per la manutenzione del verde",
        "kind": "l381_art5",
        "parties": ["Cooperativa Sociale Il Ponte"],
        "others": [],
        "start": -120,
        "end": 600,
    },
    {
        "org": "Provincia di Frosinone",
        "title": "Convenzione quadro art. 14 D.Lgs. 276/2003",
        "kind": "dlgs276_art14",
        "parties": ["Cooperativa Sociale La Fenice"],
        "others": ["Associazione degli industriali della provincia"],
        "start": -700,
        "end": -10,
    },
]


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    now = utcnow()
    added = 0
    for spec in PRACTICES:
        org = accounts.find_organisation(spec["org"])
        if org is None or _exists(GoodPractice, spec["title"]):
            continue
        practice = GoodPractice(
            organisation=org,
            title=spec["title"],
            slug=slugify(spec["title"]),
            summary=spec["summary"],
            body=spec["body"],
            region=spec["region"],
            province_code=spec["province"],
            status=PUBLISHED,
            published_at=now - timedelta(days=30 + added * 7),
        )
        practice.themes = spec["themes"]
        practice.target_groups = spec["targets"]
        db.session.add(practice)
        added += 1
    for spec in EVENTS:
        org = accounts.find_organisation(spec["org"])
        if org is None or _exists(Event, spec["title"]):
            continue
        day = (now + timedelta(days=spec["days"])).date()
        # Hours are Italian time; stored in UTC (Rome is UTC+1 in winter, +2 in summer).
        from zoneinfo import ZoneInfo

        start = datetime.combine(day, time(spec["hour"]), ZoneInfo("Europe/Rome")).astimezone(UTC)
        db.session.add(
            Event(
                organisation=org,
                title=spec["title"],
                slug=slugify(spec["title"]),
                kind=spec["kind"],
                description=spec["description"],
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                mode=spec["mode"],
                venue=spec.get("venue", ""),
                address=spec.get("address", ""),
                comune_code=spec.get("comune"),
                online_url=spec.get("online", ""),
                capacity=spec["capacity"],
                status=PUBLISHED,
                published_at=now,
            )
        )
    for spec in AGREEMENTS:
        org = accounts.find_organisation(spec["org"])
        if org is None or _exists(Agreement, spec["title"]):
            continue
        agreement = Agreement(
            organisation=org,
            title=spec["title"],
            kind=spec["kind"],
            description="",
            signed_on=(now + timedelta(days=spec["start"] - 10)).date(),
            starts_on=(now + timedelta(days=spec["start"])).date(),
            ends_on=(now + timedelta(days=spec["end"])).date(),
            status=ACTIVE,
        )
        db.session.add(agreement)
        db.session.flush()
        ids = [o.id for o in map(accounts.find_organisation, spec["parties"]) if o is not None]
        set_parties(agreement, ids, spec["others"])
    db.session.flush()


def _exists(model: Any, title: str) -> bool:
    return db.session.execute(select(model.id).where(model.title == title)).first() is not None
