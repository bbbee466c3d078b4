"""SPID/CIE attribute names (Regole tecniche SPID, "Attributi"), NameFormat basic."""

NAMES = (
    "spidCode", "name", "familyName", "placeOfBirth", "countyOfBirth", "dateOfBirth",
    "gender", "companyName", "registeredOffice", "fiscalNumber", "ivaCode", "idCard",
    "mobilePhone", "email", "address", "expirationDate", "digitalAddress",
    "companyFiscalNumber", "domicileStreetAddress", "domicilePostalCode",
    "domicileMunicipality", "domicileProvince", "domicileNation",
)  # fmt: skip

MAP = {
    "identifier": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
    "fro": {name: name for name in NAMES},
    "to": {name: name for name in NAMES},
}
