"""The marker test (PRODUCT.md privacy rules).

The real demo data are seeded (``portal.demo.seed``: a few hundred candidates with
consents, pathways at every stage and proposals), then a marker is planted — through the
models, so encryption at rest applies — in every sensitive field of **every** seeded
candidate: full name, target group, disability percentage, confidential notes, pathway
notes and tutors, lab observations, the signed forms' file names; and the names of all
services (whose type reveals the condition) carry a second marker. A few marked
candidates are proposed again so that fresh cards are built from the marked records.
The search index is rebuilt, and its stored fields must not hold the marker.

Then every GET route of the application is crawled (integer URL parameters filled with
real ids, plus ``?format=csv|xlsx|json`` and ``?q=`` variants and the links found in the
pages) as the demo employer, the demo public officer and an anonymous visitor, the JSON
API with the employer's and the officer's tokens and without one, and the search pages
and search APIs with the marker and with candidates' pseudonyms as ``q``. Response bodies
(zip members — XLSX — unpacked) and headers are searched, and so is every e-mail sent.

* The person's marker must appear nowhere; no route may answer 5xx or crash.
* A service's name (its marker) may be shown — the directory lists verified services —
  but never on a page that also shows a candidate's pseudonym.

SQLite only (``sqlite_only``): seeding and crawling take several minutes on PostgreSQL,
and what is checked — what the pages, exports, API and e-mails show — does not depend on
the database; the suite's other tests cover both.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections import deque
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.routing import IntegerConverter, Rule

from brokerage.models import Candidate, Consent, PathwayStage, Proposal
from portal import db
from portal.accounts import find_user, issue_token
from portal.permissions import is_api_endpoint
from tests.brokerage.factories import make_candidate, today
from tests.conftest import login
from tests.factories import make_org, make_user

MARKER = "ZZSENSITIVE42"
SERVICE_MARKER = MARKER + "SVC"
PERSON_LEAK = re.compile(MARKER + "(?!SVC)")
MAX_PATHS_PER_RULE = 20
#: Pseudonyms searched on the site search page (those just proposed come first).
PSEUDONYM_QUERIES = 25
MAX_LINKS_PER_ROLE = 400
FORMATS = ("csv", "xlsx", "json")
SKIP_ENDPOINTS = {"auth.logout", "portal.set_language"}


def plant_everywhere() -> dict[str, list[int]]:
    """The marker in every sensitive field of every candidate (through the models, so
    they are encrypted as usual) and in every service's name; returns the ids seen."""
    from brokerage.models import SensitiveRecord
    from portal.crypto import fernet
    from portal.models import SERVICE, Organisation

    ids: dict[str, list[int]] = {"candidate": [], "consent": [], "stage": []}
    for org in db.session.query(Organisation).filter_by(kind=SERVICE):
        org.name = f"{org.name} {SERVICE_MARKER}"
    candidates = db.session.query(Candidate).filter(Candidate.erased_at.is_(None)).all()
    assert len(candidates) >= 100, "the demo seeds a few hundred candidates"
    for candidate in candidates:
        tag = f"{MARKER}-{candidate.id}"
        candidate.full_name = f"{tag}-name"
        record = candidate.sensitive or SensitiveRecord(candidate_id=candidate.id)
        candidate.sensitive = record
        record.target_group = f"{tag}-group"
        record.disability_percentage = f"{tag}-percent"
        record.notes = f"{tag}-notes"
        for consent in db.session.query(Consent).filter_by(candidate_id=candidate.id):
            consent.document_name = f"consenso-{tag}.pdf"
            ids["consent"].append(consent.id)
        for stage in db.session.query(PathwayStage).filter_by(candidate_id=candidate.id):
            stage.notes = f"{tag}-stage-notes"
            stage.tutor = f"{tag}-tutor"
            observations = (stage.details or {}).get("observations")
            if observations:
                secret = fernet().encrypt(f"{tag}-observation".encode()).decode()
                stage.details = {
                    **stage.details,
                    "observations": [{**o, "notes": secret} for o in observations],
                }
            ids["stage"].append(stage.id)
        ids["candidate"].append(candidate.id)
    db.session.flush()
    return ids


def propose_marked(employer, limit: int = 3) -> list[int]:
    """Marked candidates with a valid consent proposed to the employer's open vacancies:
    cards built now, from the marked records."""
    from brokerage import access
    from brokerage import proposals as proposal_service
    from employers.models import Vacancy
    from portal.models import BROKER, Membership, User

    org_ids = [o.id for o in employer.organisations()]
    vacancies = [
        v
        for v in db.session.query(Vacancy).filter(Vacancy.organisation_id.in_(org_ids))
        if v.is_public(today())
    ]
    assert vacancies, "the demo employer has open vacancies"
    made: list[int] = []
    brokers = db.session.query(User).join(Membership).filter(Membership.role == BROKER).all()
    for candidate in db.session.query(Candidate).order_by(Candidate.id):
        if len(made) >= limit:
            break
        if not candidate.has_matching_consent(today()):
            continue
        broker = next((b for b in brokers if access.holds(b, candidate)), None)
        vacancy = vacancies[len(made) % len(vacancies)]
        if (
            broker is None
            or db.session.query(Proposal)
            .filter_by(candidate_id=candidate.id, vacancy_id=vacancy.id)
            .first()
        ):
            continue
        made.append(
            proposal_service.propose(candidate, vacancy, broker, "Persona motivata.", today()).id
        )
    assert made
    return made


def values_for(name: str, ids: dict[str, list[int]]) -> list[int]:
    for key, found in ids.items():
        if key in name:
            return found
    return sorted(set(itertools.chain.from_iterable(ids.values())))


def paths_for(rule: Rule, ids: dict[str, list[int]]) -> list[str]:
    converters = rule._converters
    if not all(
        isinstance(c, IntegerConverter) or "Integer" in type(c).__name__
        for c in converters.values()
    ):
        return []  # routes needing other parameters are skipped
    names = sorted(converters)
    combos = itertools.islice(
        itertools.product(*(values_for(n, ids) for n in names)), MAX_PATHS_PER_RULE
    )
    return [rule.build(dict(zip(names, combo, strict=True)))[1] for combo in combos]


def get_routes(app) -> list[Rule]:
    return [
        r
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or ())
        and r.endpoint != "static"
        and not r.endpoint.endswith(".static")
        and r.endpoint not in SKIP_ENDPOINTS
    ]


def texts_of(response) -> list[str]:
    """Body (and zip members: XLSX, ODS) and headers, as text."""
    body = response.get_data()
    parts = [body.decode("utf-8", "replace"), str(response.headers)]
    if body[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                parts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
        except zipfile.BadZipFile:
            pass
    return parts


LINK = re.compile(r'href="(/[^"#]*)"')


def leak_in(parts: list[str], pseudonyms: re.Pattern[str]) -> str | None:
    text = "\n".join(parts)
    if PERSON_LEAK.search(text):
        return "person"
    if SERVICE_MARKER in text and pseudonyms.search(text):
        return "service next to a candidate"
    return None


def crawl(
    client,
    start_paths: list[str],
    token: str | None,
    leaks: list[str],
    label: str,
    errors: list[str],
    pseudonyms: re.Pattern[str],
    follow: bool = True,
) -> str:
    """Fetch the paths, their ``?format=`` variants and the links found; a 5xx or a crash
    is an error. Returns all the text seen (to check the crawl reached what it should)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    queue = deque(start_paths)
    seen: set[str] = set()
    followed = 0
    everything: list[str] = []
    while queue:
        path = queue.popleft()
        if path in seen or path.startswith("/static/") or "/logout" in path:
            continue
        seen.add(path)
        try:
            response = client.get(path, headers=headers)
        except Exception as exc:
            db.session.rollback()
            errors.append(f"{label} GET {path}: {type(exc).__name__}: {exc}")
            continue
        if response.status_code >= 500:
            errors.append(f"{label} GET {path}: {response.status_code}")
        parts = texts_of(response)
        everything += parts
        kind = leak_in(parts, pseudonyms)
        if kind:
            leaks.append(f"{label} GET {path} ({response.status_code}): {kind} marker")
        if response.status_code != 200 or not follow:
            continue
        if "?" not in path:
            queue.extend(f"{path}?format={f}" for f in FORMATS)
        if response.mimetype == "text/html" and followed < MAX_LINKS_PER_ROLE:
            for link in LINK.findall(response.get_data(as_text=True)):
                link = link.replace("&amp;", "&")
                if link not in seen:
                    followed += 1
                    queue.append(link)
    return "\n".join(everything)


def search_paths(routes: list[Rule], pseudonyms: list[str]) -> tuple[list[str], list[str]]:
    """Every GET route without parameters with ``?q=`` the marker (pages, API); the site
    search page and the listing APIs with each pseudonym (a sample on the listings).
    Queries are lower case: search ignores case, and the pages' echo of the query is then
    not mistaken for a leak (the planted values are upper case)."""
    plain = [r for r in routes if not r.arguments]
    html = [r.rule for r in plain if not is_api_endpoint(r.endpoint)]
    api = [r.rule for r in plain if is_api_endpoint(r.endpoint)]
    term = MARKER.lower()
    pseudonyms = [p.lower() for p in pseudonyms]
    by_marker_html = [f"{p}?q={term}" for p in html]
    by_marker_api = [f"{p}?q={term}" for p in api]
    by_pseudonym_html = [f"/search?q={quote(p)}" for p in pseudonyms[:PSEUDONYM_QUERIES]]
    by_pseudonym_html += [f"{p}?q={quote(q)}" for p in html for q in pseudonyms[:3]]
    by_pseudonym_api = [f"{p}?q={quote(q)}" for p in api for q in pseudonyms[:10]]
    return by_marker_html + by_pseudonym_html, by_marker_api + by_pseudonym_api


def stored_in_index() -> str:
    """Everything the search index stores, as text."""
    from portal.search import node

    build = node.current_build(node.index_dir())
    assert build is not None
    ix = node.open_build(build)
    with ix.searcher() as searcher:
        return "\n".join(str(fields) for fields in searcher.all_stored_fields())


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_no_sensitive_data_reaches_employers_officers_or_the_public(app, client, db_session):
    # ``client`` makes app.test_client() a PonteClient: each request forgets the previous
    # request's signed-in user (the test's app context is shared).
    from portal import demo, search

    demo.seed(echo=lambda *_args: None)
    db.session.commit()
    employer = find_user("employer@ponte.demo")
    officer = find_user("officer@ponte.demo")
    assert employer is not None and officer is not None
    ids = plant_everywhere()
    ids["proposal"] = propose_marked(employer)
    db.session.commit()
    ids["proposal"] += [p.id for p in db.session.query(Proposal).order_by(Proposal.id)][:40]
    from employers.models import Vacancy

    ids["vacancy"] = [v.id for v in db.session.query(Vacancy).order_by(Vacancy.id)][:40]
    ids["org"] = sorted({o.id for u in (employer, officer) for o in u.organisations()})
    ids["user"] = [employer.id, officer.id]
    employer_token, officer_token = issue_token(employer), issue_token(officer)
    db.session.commit()

    # Search: rebuilt from the database, it stores no person's marker (services are
    # public documents: their names are there, rightly).
    assert search.reindex() > 0
    stored = stored_in_index()
    assert SERVICE_MARKER in stored and not PERSON_LEAK.search(stored)

    pseudonym_list = [c.pseudonym for c in db.session.query(Candidate).order_by(Candidate.id)]
    pseudonyms = re.compile(r"\b(?:" + "|".join(map(re.escape, pseudonym_list)) + r")\b")
    proposed = [db.session.get(Proposal, i).candidate.pseudonym for i in ids["proposal"][:3]]

    routes = get_routes(app)
    html_paths = [p for r in routes if not is_api_endpoint(r.endpoint) for p in paths_for(r, ids)]
    api_paths = [p for r in routes if is_api_endpoint(r.endpoint) for p in paths_for(r, ids)]
    assert html_paths and api_paths
    html_search, api_search = search_paths(
        routes, proposed + [p for p in pseudonym_list if p not in proposed]
    )

    leaks: list[str] = []
    errors: list[str] = []
    seen_by_employer = ""
    for label, user in (("employer", employer), ("public officer", officer), ("anonymous", None)):
        client = app.test_client()
        if user is not None:
            login(client, user)
        text = crawl(client, html_paths, None, leaks, label, errors, pseudonyms)
        crawl(client, html_search, None, leaks, label, errors, pseudonyms, follow=False)
        if user is employer:
            seen_by_employer = text
    for label, token in (
        ("employer API", employer_token),
        ("public officer API", officer_token),
        ("anonymous API", None),
    ):
        client = app.test_client()
        crawl(client, api_paths, token, leaks, label, errors, pseudonyms)
        crawl(client, api_search, token, leaks, label, errors, pseudonyms, follow=False)

    outbox: list[Any] = app.extensions.get("mail_outbox", [])
    for message in outbox:
        if MARKER in str(message):
            leaks.append(f"e-mail to {message.get('To')}: {message.get('Subject')}")

    assert leaks == [], "sensitive data leaked:\n" + "\n".join(leaks)
    assert errors == [], "routes that failed during the crawl:\n" + "\n".join(errors)
    # The crawl did reach the proposals: the employer sees the anonymised cards.
    assert all(p in seen_by_employer for p in proposed)


def test_brokers_of_the_holding_service_do_see_the_marker(app, client, db_session):
    """The control: the marker is really there for those entitled to it."""
    service = make_org("service", name=f"SerT {MARKER} Controllo", verified=False)
    broker = make_user("broker", org=service)
    candidate = make_candidate(service, broker, notes=MARKER, full_name=f"{MARKER} Nome")
    login(client, broker)
    detail = client.get(f"/brokerage/candidates/{candidate.id}").get_data(as_text=True)
    assert MARKER in detail  # the full name, for the holding broker
    shown = client.post(
        f"/brokerage/candidates/{candidate.id}/sensitive", data={"reason": "control"}
    ).get_data(as_text=True)
    assert shown.count(MARKER) >= 2
