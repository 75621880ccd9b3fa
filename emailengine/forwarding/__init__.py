"""Forwarding of hard bounces and complaints: outbox, signing, delivery.

The bounce pipeline enqueues one outbox row per event and destination, in the transaction that
stores the bounce; `destinations()` is the one place that says which destinations exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emailengine.config import Settings

SCRAPER = "scraper"
MAILWIZZ = "mailwizz"


def destinations(settings: Settings) -> list[str]:
    """Return the destinations every new event is queued for.

    scraper-pro always (events wait in the outbox until EE_SCRAPER_URL is set); MailWizz when
    its API is configured.
    """
    return [SCRAPER, MAILWIZZ] if settings.mailwizz_api_url else [SCRAPER]
