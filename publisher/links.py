"""Every public URL the site hands out (in mail, feeds, the API, the admin, the CLI), built here.

The web app serves exactly these paths; a URL written by hand elsewhere is one that a change
of route would silently break. All are absolute, from the ``base_url`` setting.
"""

from __future__ import annotations

from publisher.config import Settings
from publisher.tokens import Purpose, Tokens


def home_url(settings: Settings) -> str:
    return f"{settings.base_url}/"


def article_url(settings: Settings, slug: str) -> str:
    """The article's permalink, stable while its slug is."""
    return f"{settings.base_url}/articles/{slug}"


def topic_url(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/topics/{slug}"


def feed_url(settings: Settings, path: str) -> str:
    """A feed document; ``path`` is below the feeds root (``FeedKey.path``)."""
    return f"{settings.base_url}/feeds/{path}"


def archive_url(settings: Settings, list_slug: str, period_key: str) -> str:
    """An edition's public page ("view in browser"), stable for ever."""
    return f"{settings.base_url}/archive/{list_slug}/{period_key}"


def static_url(settings: Settings, name: str) -> str:
    """A file of ``templates/web/static``, e.g. the logo mail clients load from the site."""
    return f"{settings.base_url}/static/{name}"


def media_url(settings: Settings, name: str) -> str:
    """A stored file of the media store (a photo in one size, ``photos.rendition_name``)."""
    return f"{settings.base_url}/media/{name}"


def subscribe_url(settings: Settings) -> str:
    return f"{settings.base_url}/subscribe"


def unsubscribe_url(settings: Settings, token: str | None = None) -> str:
    """One subscriber's unsubscribe page; without a token, the page that says how to leave."""
    return f"{settings.base_url}/unsubscribe" + (f"/{token}" if token else "")


def preferences_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/preferences/{token}"


def confirm_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/confirm/{token}"


def admin_url(settings: Settings, page: str = "") -> str:
    """The admin's dashboard, or one of its pages (``admin_url(settings, "login")``)."""
    return f"{settings.base_url}/admin" + (f"/{page}" if page else "")


class SubscriberLinks:
    """Unsubscribe, preferences and confirmation links for one subscriber (named by its
    ``Subscriber.token_uid``, never its id), signed with the site's key."""

    def __init__(self, settings: Settings, tokens: Tokens | None = None) -> None:
        self.settings = settings
        self.tokens = tokens or Tokens.from_settings(settings)

    def unsubscribe(self, subscriber_uid: str, list_id: int | None) -> str:
        token = self.tokens.make(Purpose.unsubscribe, subscriber_uid, list_id)
        return unsubscribe_url(self.settings, token)

    def preferences(self, subscriber_uid: str) -> str:
        token = self.tokens.make(Purpose.preferences, subscriber_uid)
        return preferences_url(self.settings, token)

    def confirm(self, subscriber_uid: str, list_id: int) -> str:
        token = self.tokens.make(Purpose.confirm, subscriber_uid, list_id)
        return confirm_url(self.settings, token)
