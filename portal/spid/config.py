"""SPID/CIE settings, from the application's configuration or else the environment.

Nothing configured (no ``SPID_SP_ENTITY_ID``) means no SPID/CIE: the routes are not
registered and the login page shows only the password form.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any

#: SPID levels and their AuthnContextClassRef (Regole tecniche SPID, AuthnRequest).
LEVELS = {1: "https://www.spid.gov.it/SpidL1", 2: "https://www.spid.gov.it/SpidL2",
          3: "https://www.spid.gov.it/SpidL3"}  # fmt: skip
ACR_LEVEL = {acr: level for level, acr in LEVELS.items()}

#: Roles that read special-category data sign in at level 2 at least.
LEVEL_2_ROLES = ("broker", "public_officer", "microcredit_officer", "admin")

#: Clock skew tolerated on IssueInstant, NotBefore and NotOnOrAfter, in seconds. The SPID
#: rules ask the SP to check the time windows "with a small tolerance" for clock drift;
#: 60 s covers NTP-synchronised hosts without widening the replay window noticeably.
CLOCK_SKEW_SECONDS = 60
#: How long a stored AuthnRequest can be answered (the IdP's own timeout is shorter).
REQUEST_MAX_AGE_SECONDS = 15 * 60


@dataclass(frozen=True)
class Organisation:
    name: str
    display_name: str
    url: str
    ipa_code: str
    email: str
    phone: str
    municipality: str  # ISTAT code, for the CIE metadata
    province: str
    country: str = "IT"


@dataclass(frozen=True)
class Settings:
    entity_id: str
    key_file: str
    cert_file: str
    idp_metadata: tuple[str, ...]
    organisation: Organisation
    level_default: int = 2
    required_roles: frozenset[str] = field(default_factory=frozenset)
    base_url: str = ""
    xmlsec_binary: str = "/usr/bin/xmlsec1"
    cie_enabled: bool = True

    def level_for(self, roles: set[str]) -> int:
        level = self.level_default
        if roles.intersection(LEVEL_2_ROLES) or roles.intersection(self.required_roles):
            level = max(level, 2)
        return level


def _get(config: Any, name: str, default: str = "") -> str:
    value = config.get(name)
    if value is None:
        value = os.environ.get(name, default)
    return str(value).strip()


def load(config: Any) -> Settings | None:
    """The settings, or None when SPID/CIE is not configured."""
    entity_id = _get(config, "SPID_SP_ENTITY_ID")
    if not entity_id:
        return None
    base = _get(config, "SPID_SP_BASE_URL") or entity_id.rstrip("/")
    org = Organisation(
        name=_get(config, "SPID_ORG_NAME", "Ponte"),
        display_name=_get(config, "SPID_ORG_DISPLAY_NAME")
        or _get(config, "SPID_ORG_NAME", "Ponte"),
        url=_get(config, "SPID_ORG_URL") or base,
        ipa_code=_get(config, "SPID_ORG_IPA_CODE", "ponte"),
        email=_get(config, "SPID_ORG_EMAIL") or str(config.get("CONTACT_EMAIL", "")),
        phone=_get(config, "SPID_ORG_PHONE", "+390000000000"),
        municipality=_get(config, "SPID_ORG_MUNICIPALITY", "H501"),
        province=_get(config, "SPID_ORG_PROVINCE", "RM"),
    )
    return Settings(
        entity_id=entity_id,
        key_file=_get(config, "SPID_SP_KEY"),
        cert_file=_get(config, "SPID_SP_CERT"),
        idp_metadata=tuple(
            p.strip() for p in _get(config, "SPID_IDP_METADATA").split(",") if p.strip()
        ),
        organisation=org,
        level_default=int(_get(config, "SPID_LEVEL_DEFAULT", "2") or 2),
        required_roles=frozenset(
            r.strip() for r in _get(config, "SPID_REQUIRED_ROLES").split(",") if r.strip()
        ),
        base_url=base,
        xmlsec_binary=_get(config, "SPID_XMLSEC_BINARY")
        or shutil.which("xmlsec1")
        or "/usr/bin/xmlsec1",
        cie_enabled=_get(config, "CIE_ENABLED", "1") != "0",
    )
