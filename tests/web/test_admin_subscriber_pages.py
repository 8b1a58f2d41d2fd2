"""The admin's subscribers over real HTTP: the newest first without a search, paged both ways
with a count, the search paged alike; and names, not slugs, wherever a person reads them."""

from __future__ import annotations

import html
import re

import httpx

from publisher.db import session_scope
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.search import PAGE_SIZE
from publisher.subscribers.subscriptions import subscribe
from publisher.topics import Topic
from tests.delivery.sending_support import LIST, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in

admin_site = admin_support.admin_site
ROW_ADDRESS = re.compile(r"<tr>\s*<td>([^<]+@example\.org)</td>")
LINK = re.compile(r'<a href="([^"]+)" rel="(prev|next)">(Novejši|Starejši)</a>')


def addresses_on(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return ROW_ADDRESS.findall(page.text)


def link(page: httpx.Response, label: str) -> str | None:
    """The page's "Novejši" or "Starejši" link, if it has one."""
    for href, _, text in LINK.findall(page.text):
        if text == label:
            return html.unescape(href)
    return None


def walk(client: httpx.Client, start: str, label: str) -> list[list[str]]:
    """Every page from ``start`` on, following ``label`` links to the end."""
    pages: list[list[str]] = []
    url: str | None = start
    while url is not None:
        page = client.get(url)
        pages.append(addresses_on(page))
        url = link(page, label)
        assert len(pages) < 50, "paging does not end"
    return pages


def test_the_subscribers_page_shows_the_newest_first_and_pages_through_all(
    admin_site: AdminSite,
) -> None:
    addresses = stock(admin_site.engine, 260)
    client = logged_in(admin_site)
    first = client.get("/admin/subscribers")
    assert "Naročnikov: 260, najnovejši prvi" in first.text
    assert addresses_on(first) == addresses[::-1][:PAGE_SIZE]
    assert link(first, "Novejši") is None and link(first, "Starejši") is not None
    assert "Tedenske novice</a> (potrjeni)" in first.text  # the list by name
    assert "<td>angleščina</td>" in first.text and "<td>en</td>" not in first.text

    pages = walk(client, "/admin/subscribers", "Starejši")
    assert [len(page) for page in pages] == [50, 50, 50, 50, 50, 10]
    assert [a for page in pages for a in page] == addresses[::-1]  # each once, newest first

    last_url = "/admin/subscribers"
    for _ in range(5):
        last_url = link(client.get(last_url), "Starejši") or ""
    back = walk(client, last_url, "Novejši")
    assert back == pages[::-1]


def test_a_search_pages_and_counts_its_matches(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 260)
    client = logged_in(admin_site)
    found = client.get("/admin/subscribers", params={"q": "OBCAN01"})
    assert "Zadetkov za »OBCAN01«: 100" in html.unescape(found.text)
    pages = walk(client, str(found.url.copy_with(scheme=None, host=None)), "Starejši")
    wanted = [a for a in addresses if a.startswith("obcan01")][::-1]
    assert [a for page in pages for a in page] == wanted
    older = link(found, "Starejši")
    assert older is not None and "q=OBCAN01" in older  # the search goes along
    nothing = client.get("/admin/subscribers", params={"q": "nikogar"})
    assert "Ni zadetkov za »nikogar«" in html.unescape(nothing.text)


def test_a_list_page_shows_its_own_newest_subscribers_and_its_topics_by_name(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 60)
    with session_scope(admin_site.engine) as session:
        session.add(Topic(slug="obcina", name="Občina"))
        session.add(Topic(slug="sport", name="Šport"))
        session.flush()
        create_list(session, "sportne", "Športne novice", topics=["sport", "obcina"])
        subscribe(session, "navijac@example.org", "sportne", source=Source.staff, confirmed=True)
    client = logged_in(admin_site)
    page = client.get("/admin/lists/sportne")
    assert "Teme seznama: Občina, Šport" in page.text
    assert "obcina, sport" not in page.text
    assert "Jezik: slovenščina" in page.text
    assert addresses_on(page) == ["navijac@example.org"]
    assert "Naročnikov: 1" in page.text

    weekly = client.get(f"/admin/lists/{LIST}")
    assert "Naročnikov: 60" in weekly.text and len(addresses_on(weekly)) == PAGE_SIZE
    older = link(weekly, "Starejši")
    assert older is not None and older.startswith(f"/admin/lists/{LIST}?")
    assert len(addresses_on(client.get(older))) == 10
