"""The ethical label: only verifiable facts the producer declared, the same everywhere.

No national "ethical product" label exists (L. 141/2015 defines social agriculture but no
mark), so the label is a list of facts, each shown only when it is declared and can be
checked: enrolment in a register, the art. 2 activities, the share of work hours done by
people in inclusion pathways *as declared on a date*, the organic certification with its
control body and certificate number, the origin municipality.

Reg. (EU) 1169/2011 art. 36 (with art. 7, fair information practices): voluntary food
information must not mislead, must not be ambiguous and must be based on relevant
scientific or verifiable data. So :func:`label_facts` never states anything that is not
declared: a missing fact is left out, never assumed, and nothing about the workers
(categories, conditions) is ever shown.

Product pages and the JSON API render the output of :func:`label_facts` in full;
catalogue cards render :func:`label_summary`, a short form of the same facts (register,
inclusion share, organic), so a card can never say more than the full label. The label is
made of parts, :func:`producer_facts` (the same on each of a producer's products),
:func:`organic_fact` and :func:`origin_fact`, so a page of cards summarises each producer's
part once: :func:`summarise` of the parts in the label's order is :func:`label_summary`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from ethical_products.models import ART2_ACTIVITIES, ProducerProfile, Product
from portal.models import COOPERATIVE_B, SOCIAL_FARM_KIND, Municipality, Organisation


@dataclass(frozen=True)
class Fact:
    """One declared fact: ``code`` is stable, ``text`` is for people, ``data`` for machines."""

    code: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def label_facts(product: Product) -> list[Fact]:
    """The facts of ``product``'s ethical label, in a fixed order."""
    facts = producer_facts(product.producer, product.profile)
    organic = organic_fact(product.organic_body, product.organic_number)
    if organic is not None:
        facts.append(organic)
    origin = origin_fact(product.municipality)
    if origin is not None:
        facts.append(origin)
    return facts


def producer_facts(producer: Organisation, profile: ProducerProfile | None) -> list[Fact]:
    """The facts of the label that come from the producer, the same on each of its
    products: the register, the art. 2 activities, the inclusion share (facts 1–3)."""
    facts: list[Fact] = []
    # 1. Enrolment in a register (verified by an administrator before the shop is public).
    if producer.kind == SOCIAL_FARM_KIND and producer.regional_register.strip():
        facts.append(
            Fact(
                "register",
                _(
                    "Social farm enrolled in the regional register of social agriculture "
                    "(L. 141/2015 art. 7): %(entry)s",
                    entry=producer.regional_register.strip(),
                ),
                {
                    "register": "regional_social_agriculture",
                    "entry": producer.regional_register.strip(),
                },
            )
        )
    elif producer.kind == COOPERATIVE_B and producer.register_number.strip():
        facts.append(
            Fact(
                "register",
                _(
                    "Type-B social cooperative (L. 381/1991) enrolled in the register of "
                    "cooperatives: %(entry)s",
                    entry=producer.register_number.strip(),
                ),
                {"register": "cooperatives", "entry": producer.register_number.strip()},
            )
        )
    if profile is not None:
        # 2. Social-agriculture activities of L. 141/2015 art. 2, as declared.
        codes = [c for c in sorted(set(profile.art2_activities or [])) if c in ART2_ACTIVITIES]
        if codes:
            names = "; ".join(f"({c}) {ART2_ACTIVITIES[c]}" for c in codes)
            facts.append(
                Fact(
                    "art2_activities",
                    _(
                        "Social agriculture activities (L. 141/2015 art. 2): %(activities)s",
                        activities=names,
                    ),
                    {"activities": codes},
                )
            )
        # 3. Share of work hours by people in inclusion pathways, with its declaration date.
        share, declared = profile.inclusion_hours_share, profile.inclusion_declared_on
        if share is not None and declared is not None:
            facts.append(
                Fact(
                    "inclusion_hours_share",
                    _(
                        "%(share)s%% of work hours are done by people in inclusion pathways "
                        "(producer's declaration of %(date)s)",
                        share=format_decimal(share, format="#,##0.#"),
                        date=format_date(declared, "long"),
                    ),
                    {"percent": f"{Decimal(share):.2f}", "declared_on": declared.isoformat()},
                )
            )
    return facts


def organic_fact(body: str, number: str) -> Fact | None:
    """4. Organic certification: only with its control body and certificate number."""
    if not (body.strip() and number.strip()):
        return None
    return Fact(
        "organic",
        _(
            "Organic farming (Reg. EU 2018/848), control body %(body)s, certificate %(number)s",
            body=body.strip(),
            number=number.strip(),
        ),
        {"body": body.strip(), "certificate": number.strip()},
    )


def origin_fact(place: Municipality | None) -> Fact | None:
    """5. Origin."""
    if place is None:
        return None
    return Fact(
        "origin",
        _("Origin: %(place)s", place=place.label),
        {
            "comune": place.istat_code,
            "municipality": place.name,
            "province": place.province_code,
        },
    )


def label_json(product: Product) -> list[dict[str, Any]]:
    return [asdict(fact) for fact in label_facts(product)]


#: The facts a catalogue card summarises, in the label's order.
SUMMARY_CODES = ("register", "inclusion_hours_share", "organic")


def label_summary(product: Product) -> list[Fact]:
    """Short texts for a card, made only from :func:`label_facts` (same codes and data):
    a fact missing from the full label is missing here too."""
    return summarise(label_facts(product))


def summarise(facts: Iterable[Fact]) -> list[Fact]:
    """The short form of ``facts`` (a label, or its producer's or organic part, in the
    label's order): :data:`SUMMARY_CODES` only, with short texts."""
    summary: list[Fact] = []
    for fact in facts:
        if fact.code == "register":
            text = (
                _("Social farm in the regional register")
                if fact.data["register"] == "regional_social_agriculture"
                else _("Registered type-B social cooperative")
            )
        elif fact.code == "inclusion_hours_share":
            text = _(
                "%(share)s%% of work hours by people in inclusion pathways (declared)",
                share=format_decimal(Decimal(fact.data["percent"]), format="#,##0.#"),
            )
        elif fact.code == "organic":
            text = _("Certified organic")
        else:
            continue
        summary.append(Fact(fact.code, text, fact.data))
    return summary
