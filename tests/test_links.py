"""Every public URL ``publisher.links`` builds is one the web app serves."""

from __future__ import annotations

from starlette.routing import Match

from publisher import links
from publisher.config import Settings
from publisher.web.app import create_app

SETTINGS = Settings(
    base_url="https://novice.example.org", database_url="sqlite://", secret_key="k" * 40
)


def public_urls() -> list[str]:
    s = SETTINGS
    return [
        links.home_url(s),
        links.article_url(s, "obnova-glavnega-trga"),
        links.topic_url(s, "promet"),
        links.feed_url(s, "atom.xml"),
        links.feed_url(s, "topics/promet/archive/2/feed.json"),
        links.archive_url(s, "tedenske-novice", "2025-W10"),
        links.static_url(s, "logo.png"),
        links.subscribe_url(s),
        links.unsubscribe_url(s),
        links.unsubscribe_url(s, "token"),
        links.preferences_url(s, "token"),
        links.confirm_url(s, "token"),
        links.admin_url(s),
        links.admin_url(s, "login"),
    ]


def test_every_public_url_is_a_route_of_the_web_app() -> None:
    app = create_app(SETTINGS)
    unserved = []
    for url in public_urls():
        assert url.startswith(SETTINGS.base_url + "/")
        scope = {"type": "http", "method": "GET", "path": url.removeprefix(SETTINGS.base_url)}
        if not any(route.matches(scope)[0] is Match.FULL for route in app.routes):
            unserved.append(url)
    assert unserved == []


def test_subscriber_links_are_signed_for_their_purpose() -> None:
    subscriber = links.SubscriberLinks(SETTINGS)
    assert subscriber.unsubscribe("u7", 2).startswith("https://novice.example.org/unsubscribe/")
    assert subscriber.preferences("u7").startswith("https://novice.example.org/preferences/")
    assert subscriber.confirm("u7", 2).startswith("https://novice.example.org/confirm/")
    assert subscriber.unsubscribe("u7", 2) != subscriber.unsubscribe("u8", 2)
