"""The public URLs mails point to, in one place: the web app serves exactly these paths."""

from __future__ import annotations

from publisher.config import Settings
from publisher.tokens import Purpose, Tokens


class SubscriberLinks:
    """Unsubscribe and preferences links for one subscriber, signed with the site's key."""

    def __init__(self, settings: Settings, tokens: Tokens | None = None) -> None:
        self.base_url = settings.base_url
        self.tokens = tokens or Tokens.from_settings(settings)

    def unsubscribe(self, subscriber_id: int, list_id: int | None) -> str:
        token = self.tokens.make(Purpose.unsubscribe, subscriber_id, list_id)
        return f"{self.base_url}/unsubscribe/{token}"

    def preferences(self, subscriber_id: int) -> str:
        token = self.tokens.make(Purpose.preferences, subscriber_id)
        return f"{self.base_url}/preferences/{token}"

    def confirm(self, subscriber_id: int, list_id: int) -> str:
        token = self.tokens.make(Purpose.confirm, subscriber_id, list_id)
        return f"{self.base_url}/confirm/{token}"
