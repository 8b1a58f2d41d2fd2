"""The settings feed tests build with: five entries a page, so a few articles fill archives."""

from __future__ import annotations

import pytest

from publisher.config import Settings
from tests.feeds.helpers import make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, feed_entries=5)
