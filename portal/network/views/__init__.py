"""Pages of network life, one module per concept, all on the one ``network`` blueprint.

- ``base``: the blueprint and what every page shares;
- ``practices``: good practices and their editorial path; ``attachments``: their PDF
  documents and those of agreements;
- ``events``: the calendar and event pages; ``registrations``: seats, guests' e-mailed
  links and the attendance register; ``calendars``: iCalendar files and feeds;
- ``agreements``: the register of agreements between bodies;
- ``editorial``: "my network" and the administrator's content editors;
- ``reports``: the public indicators (page, CSV, XLSX, PDF); ``catalogue``: open data.

Importing this package registers every route; the app factory registers ``bp``
(portal.network.init_app) and the sitemap reads the ``sitemap_*`` queries.
"""

from __future__ import annotations

from portal.network.views import (
    agreements,
    attachments,
    calendars,
    catalogue,
    editorial,
    events,
    practices,
    registrations,
    reports,
)
from portal.network.views.base import bp
from portal.network.views.events import sitemap_event_url, sitemap_events
from portal.network.views.practices import sitemap_practice_url, sitemap_practices

__all__ = [
    "agreements",
    "attachments",
    "bp",
    "calendars",
    "catalogue",
    "editorial",
    "events",
    "practices",
    "registrations",
    "reports",
    "sitemap_event_url",
    "sitemap_events",
    "sitemap_practice_url",
    "sitemap_practices",
]
