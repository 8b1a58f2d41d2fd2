"""The one-click unsubscribe link from outside: a mail client POSTs it (RFC 8058), so the
site must be reachable at ``base_url`` and answer there, over https."""

from __future__ import annotations

import ssl

import httpx

from publisher.checks.results import Check, Group, Text, fail, ok
from publisher.config import Settings
from publisher.links import unsubscribe_url

G = Group.web
NAME = Text("one-click unsubscribe")
PROBE_TOKEN = "publisher-check"
"""A well-formed path segment that is no signed token: the app answers it with its "this link
does not work" page (400), and nobody is unsubscribed."""
ONE_CLICK_BODY = {"List-Unsubscribe": "One-Click"}
"""What a mail client posts (RFC 8058 3.2)."""
BAD_LINK_STATUS = 400
TIMEOUT = 15.0


async def unsubscribe_check(settings: Settings) -> Check:
    url = unsubscribe_url(settings, PROBE_TOKEN)
    context = ssl.create_default_context()  # the system's CAs, as a mail provider trusts
    try:
        async with httpx.AsyncClient(
            verify=context, timeout=TIMEOUT, follow_redirects=False, trust_env=False
        ) as client:
            response = await client.post(url, data=ONE_CLICK_BODY)
    except httpx.ConnectError as exc:
        cause = exc.__cause__ or exc
        if isinstance(getattr(cause, "__cause__", None), ssl.SSLCertVerificationError) or (
            "CERTIFICATE_VERIFY_FAILED" in str(exc)
        ):
            return fail(
                G,
                NAME,
                Text("%(url)s: the site's certificate is not valid", url=url),
                Text("give the site a certificate from a public CA (e.g. Let's Encrypt)"),
            )
        return fail(
            G,
            NAME,
            Text("%(url)s cannot be reached: %(error)s", url=url, error=exc),
            Text(
                "serve the site at base_url (publisher serve behind the reverse proxy) and let "
                "the internet reach it"
            ),
        )
    except httpx.HTTPError as exc:
        return fail(
            G, NAME, f"{url}: {exc.__class__.__name__} {exc}", Text("check the reverse proxy")
        )
    status = response.status_code
    if status == BAD_LINK_STATUS:
        answers = "%(url)s answers a POST from outside"
        if not url.startswith("https://"):
            answers += " (over http: see base_url)"
        return ok(G, NAME, Text(answers, url=url))
    if 300 <= status < 400:
        where = response.headers.get("location", "")
        return fail(
            G,
            NAME,
            Text(
                "%(url)s redirects (%(status)s) to %(where)s: mail clients do not follow a "
                "one-click POST",
                url=url,
                status=status,
                where=where,
            ),
            Text("set base_url to the address the site is served at (https, host and path)"),
        )
    return fail(
        G,
        NAME,
        Text(
            "%(url)s answers %(status)s, not publisher's page for a wrong link (%(expected)s)",
            url=url,
            status=status,
            expected=BAD_LINK_STATUS,
        ),
        Text("let the reverse proxy pass POST requests for /unsubscribe/… to publisher serve"),
    )
