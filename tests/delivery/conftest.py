"""The composed digest the mail tests use, for the delivery tests that send it; an edition
sent through the real SMTP relay (``smtp``, tests/conftest.py) for the bounce tests."""

import pytest
from sqlalchemy.engine import Engine

from publisher.config import Settings
from tests.delivery.bounce_support import BOUNCE_DOMAIN, send_edition
from tests.delivery.sending_support import PERIOD, SmtpServer, settings_for, stock
from tests.mail.conftest import branding, digest  # noqa: F401 (fixtures)


@pytest.fixture
def sent(engine: Engine, database_url: str, smtp: SmtpServer) -> tuple[Settings, dict[str, str]]:
    """An edition sent to six residents; each address → the envelope sender of its copy."""
    stock(engine, 6)
    settings = settings_for(database_url, smtp.port, bounce_domain=BOUNCE_DOMAIN)
    send_edition(engine, settings, PERIOD)
    return settings, dict(smtp.handler.envelope_senders)
