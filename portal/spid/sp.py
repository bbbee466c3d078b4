"""The SAML 2.0 Service Provider for SPID and CIE, built on pysaml2 (xmlsec1 signs and
verifies): signed metadata, signed AuthnRequests, and responses checked as the SPID
technical rules require before anybody is signed in."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import saml2
import saml2.md
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.authn_context import requested_authn_context
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.s_utils import sid
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_ENTITY, NAMEID_FORMAT_TRANSIENT
from saml2.sigver import security_context
from saml2.time_util import instant
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from portal.spid.config import ACR_LEVEL, CLOCK_SKEW_SECONDS, LEVELS, Settings

SPID_NS = "https://spid.gov.it/saml-extensions"
CIE_NS = "https://www.cartaidentita.interno.gov.it/saml-extensions"
MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
MDUI_NS = "urn:oasis:names:tc:SAML:metadata:ui"
PROFILES = ("spid", "cie")
#: The attributes the portal asks for (AttributeConsumingService index 0). The CIE IdP
#: releases no e-mail address: the registration page asks for it.
REQUESTED_ATTRIBUTES = {
    "spid": ("fiscalNumber", "name", "familyName", "email"),
    "cie": ("fiscalNumber", "name", "familyName"),
}
ATTRIBUTE_MAPS = str(Path(__file__).resolve().parent / "attribute_maps")

for _prefix, _uri in {
    "md": MD_NS, "ds": "http://www.w3.org/2000/09/xmldsig#", "spid": SPID_NS, "cie": CIE_NS,
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
}.items():  # fmt: skip
    ElementTree.register_namespace(_prefix, _uri)


class ResponseRefused(Exception):
    """A response that must not sign anybody in. ``code`` is the SPID anomaly number when
    the IdP sent one (19-25, 30), ``reason`` says in English why, for the audit log."""

    def __init__(self, reason: str, code: int | None = None, request_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True)
class Identity:
    """A person as the IdP asserted them."""

    idp: str
    level: int
    request_id: str
    fiscal_code: str  # without the TINIT- prefix
    name: str
    family_name: str
    email: str
    session_index: str
    name_id: str


def endpoint(settings: Settings, profile: str, name: str) -> str:
    return f"{settings.base_url}/{profile}/{name}"


@lru_cache(maxsize=8)
def _sp_config(settings: Settings, profile: str) -> SPConfig:
    acs = endpoint(settings, profile, "acs")
    slo = endpoint(settings, profile, "slo")
    metadata: dict[str, Any] = {"local": [], "remote": []}
    for source in settings.idp_metadata:
        if source.startswith(("http://", "https://")):
            metadata["remote"].append({"url": source})
        else:
            metadata["local"].append(source)
    conf = {
        "entityid": settings.entity_id,
        "xmlsec_binary": settings.xmlsec_binary,
        "key_file": settings.key_file,
        "cert_file": settings.cert_file,
        "attribute_map_dir": ATTRIBUTE_MAPS,
        "metadata": {k: v for k, v in metadata.items() if v},
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "name": settings.organisation.display_name,
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                "endpoints": {
                    "assertion_consumer_service": [(acs, BINDING_HTTP_POST)],
                    "single_logout_service": [
                        (slo, BINDING_HTTP_POST),
                        (slo, BINDING_HTTP_REDIRECT),
                    ],
                },
                "required_attributes": list(REQUESTED_ATTRIBUTES[profile]),
                "requested_attribute_name_format": NAME_FORMAT_BASIC,
                "name_id_format_allow_create": False,
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "only_use_keys_in_metadata": True,
                "allow_unsolicited": False,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
    }
    config = SPConfig()
    config.load(conf)
    return config


def client(settings: Settings, profile: str) -> Saml2Client:
    return Saml2Client(config=_sp_config(settings, profile))


# --- Metadata ----------------------------------------------------------------------------


def metadata(settings: Settings, profile: str) -> bytes:
    """The SP metadata for ``profile``, signed with the SP key (Avviso SPID 29 v3 for the
    public-administration profile; the CIE profile has its own contact extensions)."""
    conf = _sp_config(settings, profile)
    desc = entity_descriptor(conf)
    desc.id = f"_{sid()}"
    sso = desc.spsso_descriptor
    sso.authn_requests_signed = "true"
    sso.want_assertions_signed = "true"
    sso.extensions = None
    for index, acs in enumerate(sso.assertion_consumer_service):
        acs.index = str(index)
        acs.is_default = "true" if index == 0 else None
    sso.attribute_consuming_service[0].index = "0"
    service_name = sso.attribute_consuming_service[0].service_name[0]
    service_name.lang = "it"
    service_name.text = settings.organisation.display_name
    for attr in sso.attribute_consuming_service[0].requested_attribute:
        attr.friendly_name = None
        attr.is_required = None
    desc.extensions = None
    org = settings.organisation
    desc.organization = saml2.md.Organization(
        organization_name=[saml2.md.OrganizationName(text=org.name, lang="it")],
        organization_display_name=[
            saml2.md.OrganizationDisplayName(text=org.display_name, lang="it")
        ],
        organization_url=[saml2.md.OrganizationURL(text=org.url, lang="it")],
    )
    desc.contact_person = [_contact(settings, profile)]
    secc = security_context(conf)
    _eid, xml = sign_entity_descriptor(
        desc, None, secc, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    return xml.encode() if isinstance(xml, str) else xml


def _contact(settings: Settings, profile: str) -> saml2.md.ContactPerson:
    org = settings.organisation
    extensions = saml2.ExtensionElement("Extensions", namespace=MD_NS)
    if profile == "spid":
        contact_type = "other"
        items = [("IPACode", org.ipa_code), ("Public", None)]
        namespace = SPID_NS
    else:
        contact_type = "administrative"
        items = [
            ("Public", None),
            ("IPACode", org.ipa_code),
            ("Municipality", org.municipality),
            ("Province", org.province),
            ("Country", org.country),
        ]
        namespace = CIE_NS
    for name, text in items:
        extensions.children.append(saml2.ExtensionElement(name, namespace=namespace, text=text))
    contact = saml2.md.ContactPerson(
        contact_type=contact_type,
        email_address=[saml2.md.EmailAddress(text=org.email)],
        telephone_number=[saml2.md.TelephoneNumber(text=org.phone)],
    )
    if profile == "cie":
        contact.company = saml2.md.Company(text=org.name)
    contact.extensions = extensions
    return contact


# --- Identity providers ------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityProvider:
    entity_id: str
    name: str
    logo: str


def identity_providers(settings: Settings, profile: str = "spid") -> list[IdentityProvider]:
    """The IdPs of the configured metadata, with their display names and logos."""
    mds = _sp_config(settings, profile).metadata
    found = []
    for entity_id in mds.identity_providers():
        entity = mds[entity_id]
        name, logo = "", ""
        for desc in entity.get("idpsso_descriptor", []):
            for ext in (desc.get("extensions") or {}).get("extension_elements", []):
                for child in ext.get("display_name", []) if isinstance(ext, dict) else []:
                    name = name or child.get("text", "")
                for child in ext.get("logo", []) if isinstance(ext, dict) else []:
                    logo = logo or child.get("text", "")
        if not name:
            org = entity.get("organization") or {}
            for key in ("organization_display_name", "organization_name"):
                for item in org.get(key, []):
                    name = name or item.get("text", "")
        found.append(IdentityProvider(entity_id, name or entity_id, logo))
    return sorted(found, key=lambda idp: idp.name.lower())


# --- AuthnRequest ------------------------------------------------------------------------


def authn_request(
    settings: Settings, profile: str, idp: str, level: int, relay_state: str
) -> tuple[str, dict[str, Any]]:
    """A signed AuthnRequest for ``idp`` at ``level``: (its ID, the HTTP-POST form)."""
    saml = client(settings, profile)
    location = saml.sso_location(idp, BINDING_HTTP_POST)
    request = samlp.AuthnRequest()
    request.id = f"_{sid()}"
    request.version = saml2.VERSION
    request.issue_instant = instant()
    request.destination = location
    request.attribute_consuming_service_index = "0"
    request.assertion_consumer_service_index = "0"
    request.issuer = saml2.saml.Issuer(
        text=settings.entity_id,
        format=NAMEID_FORMAT_ENTITY,
        name_qualifier=settings.entity_id,
    )
    request.name_id_policy = samlp.NameIDPolicy(format=NAMEID_FORMAT_TRANSIENT)
    request.requested_authn_context = requested_authn_context(
        class_ref=LEVELS[level], comparison="minimum"
    )
    # SPID rules: ForceAuthn is mandatory above level 1 (no reuse of an IdP session).
    if level > 1:
        request.force_authn = "true"
    signed = saml.sign(
        request, sign_prepare=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    encoded = base64.b64encode(str(signed).encode()).decode()
    return request.id, {"action": location, "SAMLRequest": encoded, "RelayState": relay_state}


# --- Response ----------------------------------------------------------------------------

_ERROR_CODE = re.compile(r"ErrorCode nr\s*(\d+)", re.IGNORECASE)
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def parse(xml_b64: str) -> tuple[str, samlp.Response]:
    try:
        xml = base64.b64decode(xml_b64, validate=False).decode("utf-8")
        response = samlp.response_from_string(xml)
    except Exception as exc:
        raise ResponseRefused(f"unreadable response: {exc.__class__.__name__}") from exc
    if response is None:
        raise ResponseRefused("not a SAML response")
    return xml, response


def anomaly(response: samlp.Response) -> int | None:
    """The SPID anomaly code of a failed response (StatusMessage "ErrorCode nrNN")."""
    message = response.status.status_message if response.status else None
    match = _ERROR_CODE.search(message.text or "") if message is not None else None
    return int(match.group(1)) if match else None


def is_success(response: samlp.Response) -> bool:
    code = response.status.status_code if response.status else None
    return code is not None and code.value == samlp.STATUS_SUCCESS


def _instant(value: str | None, what: str) -> datetime:
    if not value or not _INSTANT.match(value.strip()):
        raise ResponseRefused(f"{what} missing or malformed")
    text = value.strip().rstrip("Z")
    if "." in text:
        head, frac = text.split(".")
        text = f"{head}.{frac[:6]}"
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def check_envelope(
    response: samlp.Response, *, acs_url: str, request_issued_at: datetime, idp: str, now=None
) -> None:
    """The SPID rules on the Response element (before the signature is even looked at)."""
    now = now or datetime.now(UTC)
    skew = timedelta(seconds=CLOCK_SKEW_SECONDS)
    if response.version != "2.0":
        raise ResponseRefused("Response Version is not 2.0")
    issued = _instant(response.issue_instant, "Response IssueInstant")
    if issued > now + skew or issued < request_issued_at - skew:
        raise ResponseRefused("Response IssueInstant outside the request's time window")
    if not response.destination or response.destination != acs_url:
        raise ResponseRefused("Response Destination is not this ACS")
    issuer = response.issuer
    if issuer is None or not (issuer.text or "").strip():
        raise ResponseRefused("Response Issuer missing")
    if issuer.text.strip() != idp:
        raise ResponseRefused("Response Issuer is not the IdP the request went to")
    if issuer.format and issuer.format != NAMEID_FORMAT_ENTITY:
        raise ResponseRefused("Response Issuer Format is not entity")
    if response.status is None or response.status.status_code is None:
        raise ResponseRefused("Response Status missing")


def check_assertion(
    response: samlp.Response,
    *,
    profile: str,
    acs_url: str,
    idp: str,
    request_id: str,
    request_issued_at: datetime,
    entity_id: str,
    now=None,
) -> samlp.Response:
    """The SPID rules on the Assertion, on the raw XML (pysaml2 then verifies signatures,
    audience and conditions again)."""
    now = now or datetime.now(UTC)
    skew = timedelta(seconds=CLOCK_SKEW_SECONDS)
    if len(response.assertion) != 1:
        raise ResponseRefused("exactly one Assertion expected")
    assertion = response.assertion[0]
    if assertion.version != "2.0":
        raise ResponseRefused("Assertion Version is not 2.0")
    if not assertion.id:
        raise ResponseRefused("Assertion ID missing")
    issued = _instant(assertion.issue_instant, "Assertion IssueInstant")
    if issued > now + skew or issued < request_issued_at - skew:
        raise ResponseRefused("Assertion IssueInstant outside the request's time window")
    issuer = assertion.issuer
    if issuer is None or (issuer.text or "").strip() != idp:
        raise ResponseRefused("Assertion Issuer is not the IdP")
    # The CIE profile does not require the Issuer Format; SPID does.
    if (profile == "spid" or issuer.format) and issuer.format != NAMEID_FORMAT_ENTITY:
        raise ResponseRefused("Assertion Issuer Format is not entity")
    subject = assertion.subject
    if subject is None or subject.name_id is None or not (subject.name_id.text or "").strip():
        raise ResponseRefused("Subject NameID missing")
    name_id = subject.name_id
    if name_id.format != NAMEID_FORMAT_TRANSIENT:
        raise ResponseRefused("Subject NameID Format is not transient")
    if not name_id.name_qualifier:
        raise ResponseRefused("Subject NameID NameQualifier missing")
    if not subject.subject_confirmation:
        raise ResponseRefused("SubjectConfirmation missing")
    for confirmation in subject.subject_confirmation:
        if confirmation.method != "urn:oasis:names:tc:SAML:2.0:cm:bearer":
            raise ResponseRefused("SubjectConfirmation Method is not bearer")
        data = confirmation.subject_confirmation_data
        if data is None:
            raise ResponseRefused("SubjectConfirmationData missing")
        if data.recipient != acs_url:
            raise ResponseRefused("SubjectConfirmationData Recipient is not this ACS")
        if data.in_response_to != request_id:
            raise ResponseRefused("SubjectConfirmationData InResponseTo is not the request")
        if _instant(data.not_on_or_after, "SubjectConfirmationData NotOnOrAfter") < now - skew:
            raise ResponseRefused("SubjectConfirmationData expired")
    conditions = assertion.conditions
    if conditions is None:
        raise ResponseRefused("Conditions missing")
    if _instant(conditions.not_before, "Conditions NotBefore") > now + skew:
        raise ResponseRefused("Conditions NotBefore is in the future")
    if _instant(conditions.not_on_or_after, "Conditions NotOnOrAfter") < now - skew:
        raise ResponseRefused("Conditions NotOnOrAfter has passed")
    audiences = [
        (a.text or "").strip() for r in conditions.audience_restriction or [] for a in r.audience
    ]
    if entity_id not in audiences:
        raise ResponseRefused("Audience is not this SP")
    if not assertion.authn_statement:
        raise ResponseRefused("AuthnStatement missing")
    for statement in assertion.authn_statement:
        context = statement.authn_context
        ref = context.authn_context_class_ref if context is not None else None
        if ref is None or (ref.text or "").strip() not in ACR_LEVEL:
            raise ResponseRefused("AuthnContextClassRef missing or not a SPID level")
    if not assertion.attribute_statement or not any(
        s.attribute for s in assertion.attribute_statement
    ):
        raise ResponseRefused("AttributeStatement missing or empty")
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            if not attribute.name:
                raise ResponseRefused("Attribute without Name")
    return response


def level_of(response: samlp.Response) -> int:
    ref = response.assertion[0].authn_statement[0].authn_context.authn_context_class_ref
    return ACR_LEVEL[(ref.text or "").strip()]


def verify(settings: Settings, profile: str, xml: str, request_id: str) -> Any:
    """pysaml2's verification: the signatures against the IdP's key in the metadata, the
    issuer in the metadata, audience, destination, conditions and InResponseTo."""
    saml = client(settings, profile)
    encoded = base64.b64encode(xml.encode()).decode()
    try:
        authn = saml.parse_authn_request_response(
            encoded, BINDING_HTTP_POST, outstanding={request_id: "/"}
        )
    except Exception as exc:
        raise ResponseRefused(f"rejected by the SAML checks: {exc.__class__.__name__}") from exc
    if authn is None or not authn.assertion:
        raise ResponseRefused("rejected by the SAML checks")
    return authn


def identity_from(authn: Any, idp: str, level: int, request_id: str) -> Identity:
    attrs = authn.get_identity() or {}

    def first(name: str) -> str:
        values = attrs.get(name) or []
        return str(values[0]).strip() if values else ""

    fiscal = first("fiscalNumber").upper()
    if fiscal.startswith("TINIT-"):
        fiscal = fiscal[len("TINIT-") :]
    session_index = ""
    statements = authn.assertion.authn_statement or []
    if statements and statements[0].session_index:
        session_index = statements[0].session_index
    name_id = authn.assertion.subject.name_id
    return Identity(
        idp=idp,
        level=level,
        request_id=request_id,
        fiscal_code=fiscal,
        name=first("name"),
        family_name=first("familyName"),
        email=first("email"),
        session_index=session_index,
        name_id=(name_id.text or "") if name_id is not None else "",
    )


# --- Single logout -----------------------------------------------------------------------


def _idp_slo(saml: Saml2Client, idp: str) -> str:
    services = saml.metadata.single_logout_service(idp, BINDING_HTTP_POST, "idpsso")
    if not services:
        raise ResponseRefused("the IdP has no HTTP-POST SingleLogoutService")
    return services[0]["location"]


def _spid_issuer(settings: Settings) -> saml2.saml.Issuer:
    return saml2.saml.Issuer(
        text=settings.entity_id, format=NAMEID_FORMAT_ENTITY, name_qualifier=settings.entity_id
    )


def logout_request(
    settings: Settings, profile: str, idp: str, name_id: str, session_index: str
) -> dict[str, str]:
    """A signed LogoutRequest to the IdP's SingleLogoutService (HTTP-POST form fields)."""
    saml = client(settings, profile)
    destination = _idp_slo(saml, idp)
    _id, request = saml.create_logout_request(
        destination,
        idp,
        name_id=saml2.saml.NameID(text=name_id, format=NAMEID_FORMAT_TRANSIENT, name_qualifier=idp),
        session_indexes=[session_index] if session_index else None,
        sign=False,
    )
    request.issuer = _spid_issuer(settings)
    signed = saml.sign(
        request, sign_prepare=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    encoded = base64.b64encode(str(signed).encode()).decode()
    return {"action": destination, "SAMLRequest": encoded, "RelayState": profile}


def logout_response(
    settings: Settings, profile: str, payload: str, binding: str
) -> tuple[str, dict[str, str]]:
    """Check an IdP's LogoutRequest (signature against its metadata) and answer it with a
    signed LogoutResponse: (the IdP, the HTTP-POST form fields)."""
    saml = client(settings, profile)
    try:
        parsed = saml.parse_logout_request(payload, binding)
    except Exception as exc:
        raise ResponseRefused(f"invalid LogoutRequest: {exc.__class__.__name__}") from exc
    if parsed is None or parsed.message is None or parsed.message.issuer is None:
        raise ResponseRefused("invalid LogoutRequest")
    idp = (parsed.message.issuer.text or "").strip()
    destination = _idp_slo(saml, idp)
    response = saml.create_logout_response(parsed.message, [BINDING_HTTP_POST], sign=False)
    response.issuer = _spid_issuer(settings)
    response.destination = destination
    signed = saml.sign(
        response, sign_prepare=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    encoded = base64.b64encode(str(signed).encode()).decode()
    return idp, {"action": destination, "SAMLResponse": encoded, "RelayState": profile}
