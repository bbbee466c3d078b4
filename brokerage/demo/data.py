"""The invented material of the brokerage demo: the demo services and their centres, the
employers where people are hired, occupations, Italian first names and surnames,
summaries, experience texts, pathway notes, tutors, languages, education and hours. No
real person is described.
"""

from __future__ import annotations

SIL = "SIL Pordenone – Servizio Inserimento Lavorativo"
DSM = "DSM Pordenone – Centro di Salute Mentale"
SERT = "ASL Frosinone – Dipartimento 3D"
MONZA = "Centro per l'Impiego di Monza"
TORINO = "Servizio Sociale Città di Torino – Inclusione Lavorativa"

# service: (demo broker e-mail, centre ISTAT code, candidates, target groups)
SERVICES: dict[str, tuple[str | None, str, int, tuple[str, ...]]] = {
    SIL: (
        "broker@ponte.demo",
        "093033",
        110,
        (
            "physical_disability",
            "mental_disability",
            "sensory_disability",
            "psychiatric",
            "poverty",
        ),
    ),
    DSM: ("broker.dsm@ponte.demo", "093033", 60, ("psychiatric",)),
    SERT: ("broker.sert@ponte.demo", "060038", 70, ("addiction", "addiction", "prison")),
    MONZA: (None, "108033", 35, ("physical_disability", "sensory_disability", "poverty")),
    TORINO: (None, "001272", 25, ("poverty", "prison", "minor_family_difficulty")),
}
# Employers where people are hired, by centre.
EMPLOYERS = {
    "093033": [
        "Mobilificio Friulano S.p.A.",
        "Cooperativa Sociale Il Ponte",
        "Fattoria Sociale Il Melograno",
    ],
    "060038": ["Logistica Ciociara S.r.l.", "Fattoria Sociale Terre del Liri"],
    "108033": ["Ristorazione Brianza S.r.l.", "Cooperativa Sociale Monza Lavoro"],
    "001272": ["Officine Meccaniche Torinesi S.r.l.", "Cooperativa Sociale La Fenice"],
}
OCCUPATIONS = (
    "warehouse worker",
    "kitchen assistant",
    "building cleaner",
    "landscape gardener",
    "furniture assembler",
)
FIRST_NAMES = (
    "Marco",
    "Luca",
    "Giuseppe",
    "Andrea",
    "Francesco",
    "Alessandro",
    "Matteo",
    "Davide",
    "Stefano",
    "Paolo",
    "Roberto",
    "Simone",
    "Fabio",
    "Giorgio",
    "Daniele",
    "Nicola",
    "Claudio",
    "Antonio",
    "Michele",
    "Emanuele",
    "Giulia",
    "Anna",
    "Francesca",
    "Chiara",
    "Sara",
    "Laura",
    "Valentina",
    "Elena",
    "Martina",
    "Alessia",
    "Federica",
    "Silvia",
    "Paola",
    "Roberta",
    "Monica",
    "Elisa",
    "Ilaria",
    "Cristina",
    "Barbara",
    "Sofia",
    "Amir",
    "Ion",
    "Fatima",
    "Mihaela",
    "Blerina",
)
SURNAMES = (
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Vitale",
    "Serra",
    "Coppola",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferri",
    "Fabbri",
    "Marini",
    "Grasso",
    "Pellegrini",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Zanin",
    "Furlan",
    "Bortolin",
    "Del Ben",
    "Colussi",
    "Ceccarelli",
    "Mastrangeli",
    "Popescu",
    "Hoxha",
    "Benali",
)
SUMMARIES = (
    "Persona puntuale e disponibile, interessata a lavori pratici in squadra.",
    "Buona manualità; preferisce compiti ripetitivi e ben organizzati.",
    "Esperienze brevi in magazzino e nelle pulizie; vuole un lavoro stabile.",
    "Motivata a rientrare nel lavoro dopo un periodo di inattività.",
    "Ama il lavoro all'aperto; disponibile anche nel fine settimana.",
)
EXPERIENCE_TEXTS = {
    "warehouse worker": (
        "Carico e scarico merci, inventario.",
        "Preparazione ordini con transpallet manuale.",
    ),
    "kitchen assistant": (
        "Aiuto in cucina in una mensa aziendale.",
        "Lavaggio stoviglie e preparazione verdure in trattoria.",
    ),
    "building cleaner": (
        "Pulizia di uffici e spazi comuni.",
        "Pulizie in una scuola per una cooperativa.",
    ),
    "landscape gardener": (
        "Manutenzione di aree verdi comunali.",
        "Lavoro stagionale in un vivaio.",
    ),
    "furniture assembler": (
        "Montaggio di arredi in laboratorio.",
        "Imballaggio e montaggio di sedie.",
    ),
}
STAGE_NOTES = (
    "Colloquio svolto, obiettivi condivisi.",
    "Buona partecipazione, da sostenere l'autonomia negli spostamenti.",
    "Incontro con il tutor aziendale.",
    "Verifica intermedia positiva.",
    "",
)
TUTORS = ("Paolo Zanette", "Marta Visintin", "Giovanni Di Lorenzo", "Lucia Ferri", "")
LANGUAGES = (
    ["italiano"],
    ["italiano"],
    ["italiano", "inglese"],
    ["italiano", "rumeno"],
    ["italiano", "arabo"],
    ["italiano", "albanese"],
    ["italiano", "francese"],
)
EDUCATION = (
    "primary",
    "lower_secondary",
    "lower_secondary",
    "lower_secondary",
    "vocational",
    "vocational",
    "upper_secondary",
    "none",
)
HOURS = ((10, 20), (15, 25), (20, 30), (20, 36), (30, 40), (18, 24))
