"""The marker test (PRODUCT.md privacy rules).

A unique marker is planted in every sensitive field of several candidates — target group,
disability percentage, confidential notes, full name, pathway notes and tutors, lab
observations, the signed form's file name — and in the names of the holding and the
referring services (whose type reveals the condition); those candidates are proposed
to an employer's vacancies. Then every GET route of the application is crawled (integer
URL parameters filled with the ids of the objects made here, plus ``?format=csv|xlsx|json``
variants and the links found in the pages) as an employer, a public officer and an
anonymous visitor, and the JSON API with the employer's and the officer's tokens and
without one. Response bodies (zip members — XLSX — unpacked) and headers are searched,
and so are the e-mails sent to the employer.

* The person's marker must appear nowhere.
* The services' names carry the marker too (``…42SVC``): employers and anonymous visitors
  must never see them; public officers may see a service named in the network's
  aggregated indicators (small cells suppressed), but never next to a candidate.
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
import zipfile
from collections import deque
from datetime import timedelta
from typing import Any

from werkzeug.routing import IntegerConverter, Rule

from brokerage import caseload, pathway
from brokerage.models import Candidate, Consent, PathwayStage
from portal import db
from portal.accounts import issue_token
from portal.permissions import is_api_endpoint
from tests.brokerage.factories import make_candidate, make_proposal, today
from tests.conftest import login
from tests.employers.factories import make_vacancy
from tests.factories import make_org, make_user

MARKER = "ZZSENSITIVE42"
SERVICE_MARKER = MARKER + "SVC"
PERSON_LEAK = re.compile(MARKER + "(?!SVC)")
MAX_PATHS_PER_RULE = 40
MAX_LINKS_PER_ROLE = 400
FORMATS = ("csv", "xlsx", "json")
SKIP_ENDPOINTS = {"auth.logout", "portal.set_language"}


def plant(broker, service, origin, employer, vacancies) -> dict[str, list[int]]:
    """Three candidates full of the marker, proposed to the employer in several states."""
    ids: dict[str, list[int]] = {"candidate": [], "proposal": [], "consent": [], "stage": []}
    try:
        from brokerage import proposals as proposal_service
    except ImportError:  # pragma: no cover
        proposal_service = None
    for i, status in enumerate(("proposed", "interview", "hired")):
        candidate = make_candidate(
            service,
            broker,
            full_name=f"{MARKER} Persona {i}",
            target_group="addiction",
            disability_percentage=50,
            origin_service_id=origin.id,
            notes=f"Diagnosi {MARKER}",
            skill_ids=[],
            adjustments=["quiet_place"],
        )
        candidate.sensitive.target_group = f"{MARKER}-group"
        candidate.sensitive.disability_percentage = f"{MARKER}%"
        for consent in db.session.query(Consent).filter_by(candidate_id=candidate.id):
            consent.document_name = f"consenso-{MARKER}.pdf"
        for stage in pathway.stages_of(candidate):
            stage.started_on = today() - timedelta(days=60)
            stage.notes = f"Colloquio {MARKER}"
            stage.tutor = f"Tutor {MARKER}"
        start = today() - timedelta(days=40)
        lab = pathway.add_stage(
            candidate,
            broker,
            pathway.StageInput(
                stage="work_experience",
                started_on=start,
                notes=f"Lab {MARKER}",
                details={
                    "kind": "observation_lab",
                    "planned_end": pathway.add_months(start, 4),
                    "host": "",
                },
            ),
            today(),
        )
        pathway.add_observation(
            lab,
            broker,
            today() - timedelta(days=5),
            {"punctuality": 3, "autonomy": 3, "relations": 3, "task_quality": 3},
            f"Osservazione {MARKER}",
            today(),
        )
        for vacancy in vacancies[: i + 1]:
            if proposal_service is not None and hasattr(proposal_service, "propose"):
                proposal = proposal_service.propose(
                    candidate, vacancy, broker, "Persona motivata.", today()
                )
                proposal.status = status
            else:  # pragma: no cover
                proposal = make_proposal(candidate, vacancy, broker, status=status)
            ids["proposal"].append(proposal.id)
        ids["candidate"].append(candidate.id)
        ids["consent"] += [c.id for c in caseload.consents_of(candidate)]
        ids["stage"] += [
            s.id for s in db.session.query(PathwayStage).filter_by(candidate_id=candidate.id)
        ]
    db.session.flush()
    return ids


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


def leak_in(parts: list[str], strict_services: bool, pseudonyms: list[str]) -> str | None:
    text = "\n".join(parts)
    if PERSON_LEAK.search(text):
        return "person"
    if SERVICE_MARKER in text and (strict_services or any(p in text for p in pseudonyms)):
        return "service"
    return None


def crawl(
    client,
    start_paths: list[str],
    token: str | None,
    leaks: list[str],
    label: str,
    errors: list[str],
    strict_services: bool = True,
    pseudonyms: tuple[str, ...] = (),
) -> str:
    """Fetch the paths, their ``?format=`` variants and the links found; returns all
    the text seen (to check the crawl reached what it should)."""
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
        except Exception as exc:  # a crash is reported (a warning), not a leak
            errors.append(f"{label} GET {path}: {type(exc).__name__}: {exc}")
            continue
        parts = texts_of(response)
        everything += parts
        kind = leak_in(parts, strict_services, list(pseudonyms))
        if kind:
            leaks.append(f"{label} GET {path} ({response.status_code}): {kind} marker")
        if response.status_code != 200:
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


def test_no_sensitive_data_reaches_employers_officers_or_the_public(app, client, db_session):
    # ``client`` makes app.test_client() a PonteClient: each request forgets the previous
    # request's signed-in user (the test's app context is shared).
    # The holding and the referring services' names reveal the condition: marked too.
    # They are not verified, so the public directory rightly does not list them.
    service = make_org(
        "service", name=f"SerT {SERVICE_MARKER} Dipendenze", service_type="sert", verified=False
    )
    origin = make_org(
        "service", name=f"DSM {SERVICE_MARKER} Salute mentale", service_type="dsm", verified=False
    )
    broker = make_user("broker", org=service)
    employer = make_user("employer", locale="en")
    officer = make_user("public_officer")
    vacancies = [make_vacancy(employer, title=f"Magazziniere {n}") for n in range(3)]
    ids = plant(broker, service, origin, employer, vacancies)
    ids["vacancy"] = [v.id for v in vacancies]
    ids["org"] = [
        service.id,
        origin.id,
        employer.organisations("employer")[0].id,
        officer.organisations("public_officer")[0].id,
    ]
    ids["user"] = [employer.id, officer.id, broker.id]
    ids["notification"] = []
    employer_token, officer_token = issue_token(employer), issue_token(officer)
    db.session.commit()

    routes = get_routes(app)
    html_paths = [p for r in routes if not is_api_endpoint(r.endpoint) for p in paths_for(r, ids)]
    api_paths = [p for r in routes if is_api_endpoint(r.endpoint) for p in paths_for(r, ids)]
    assert html_paths and api_paths

    pseudonyms = tuple(db.session.get(Candidate, i).pseudonym for i in ids["candidate"])

    leaks: list[str] = []
    errors: list[str] = []
    seen_by_employer = ""
    for label, user in (("employer", employer), ("public officer", officer), ("anonymous", None)):
        client = app.test_client()
        if user is not None:
            login(client, user)
        text = crawl(
            client,
            html_paths,
            None,
            leaks,
            label,
            errors,
            strict_services=user is not officer,
            pseudonyms=pseudonyms,
        )
        if user is employer:
            seen_by_employer = text
    for label, token in (
        ("employer API", employer_token),
        ("public officer API", officer_token),
        ("anonymous API", None),
    ):
        crawl(
            app.test_client(),
            api_paths,
            token,
            leaks,
            label,
            errors,
            strict_services=token != officer_token,
            pseudonyms=pseudonyms,
        )

    outbox: list[Any] = app.extensions.get("mail_outbox", [])
    for message in outbox:
        if employer.email in str(message.get("To", "")) and MARKER in str(message):
            leaks.append(f"e-mail to the employer: {message.get('Subject')}")

    assert leaks == [], "sensitive data leaked:\n" + "\n".join(leaks)
    # The crawl did reach the proposals: the employer sees the anonymised cards.
    assert all(p in seen_by_employer for p in pseudonyms)
    if errors:
        warnings.warn("routes that crashed during the crawl:\n" + "\n".join(errors), stacklevel=1)


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
