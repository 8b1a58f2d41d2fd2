"""A person's own data (GDPR access), whole: the register's part and what sending kept.

The register (:mod:`publisher.subscribers.privacy`) may not know about sending, so the export
is completed here, one level up, and both the resident's download and staff's
``subscribers data`` take it from here.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from publisher.delivery import ledger
from publisher.delivery.bounces.reports import bounces_of
from publisher.subscribers.privacy import subscriber_data
from publisher.subscribers.subscriptions import get_subscriber


def person_data(session: Session, email: str, tz: ZoneInfo) -> dict[str, Any]:
    """Everything held about one person: the register, each copy sent and each bounce."""
    data = subscriber_data(session, email, tz)
    subscriber_id = get_subscriber(session, email).id or 0
    data["deliveries"] = ledger.deliveries_of(session, subscriber_id, tz)
    data["bounces"] = bounces_of(session, subscriber_id, tz)
    return data
