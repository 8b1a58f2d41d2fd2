"""The settings a send depends on: the secret key, the site's address, the sender, the time
zone and the database. No network but the database's."""

from __future__ import annotations

from email.utils import parseaddr

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from publisher.checks.results import Check, Group, Text, fail, ok, warn
from publisher.config import Settings, weak_secret
from publisher.db import schema_state

G = Group.settings
MIN_DISTINCT = 10
"""A generated secret of 32 bytes or more has far more distinct characters; ``"k" * 40``
passes :func:`weak_secret` (long, not published) but is no secret."""


def settings_checks(settings: Settings, engine: Engine) -> list[Check]:
    return [
        _secret(settings),
        _base_url(settings),
        _from_address(settings),
        ok(
            G,
            Text("timezone"),
            Text("%(zone)s: schedules and dates in mails use it", zone=settings.timezone),
        ),
        _database(settings, engine),
    ]


def _secret(settings: Settings) -> Check:
    name = Text("secret key")
    problem = weak_secret(settings)
    if problem is not None:
        what, _, how = problem.partition(": ")
        return fail(G, name, what, how)
    if len(set(settings.secret)) < MIN_DISTINCT:
        return fail(
            G,
            name,
            Text("secret_key repeats a few characters"),
            Text(
                "it does not look random; set it to the output of: "
                'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
            ),
        )
    return ok(G, name, Text("long enough and random-looking (it signs every link in the mails)"))


def _base_url(settings: Settings) -> Check:
    if not settings.base_url.startswith("https://"):
        return fail(
            G,
            "base_url",
            Text(
                "%(url)s is not https: Gmail and Yahoo take one-click unsubscribe links "
                "(RFC 8058) only over https, and links in mails travel in the clear",
                url=settings.base_url,
            ),
            Text("set base_url to the site's https address, e.g. https://novice.example.org"),
        )
    return ok(G, "base_url", Text("%(url)s (https)", url=settings.base_url))


def _from_address(settings: Settings) -> Check:
    name, address = parseaddr(settings.from_address)
    domain = address.rpartition("@")[2]
    what = Text("From address")
    if "." not in domain:
        return fail(
            G,
            what,
            Text(
                "%(address)s: the domain %(domain)r is not one receivers can look up",
                address=address,
                domain=domain,
            ),
            Text("set from_address to an address of the town hall's own domain"),
        )
    if not name:
        return warn(
            G,
            what,
            Text("%(address)s has no display name: inboxes show the bare address", address=address),
            Text("write from_address as 'Mestna občina Novo mesto <novice@example.org>'"),
        )
    return ok(
        G,
        what,
        Text(
            "%(name)s <%(address)s>, domain %(domain)s", name=name, address=address, domain=domain
        ),
    )


def _database(settings: Settings, engine: Engine) -> Check:
    where = settings.database_url_safe
    name = Text("database")
    try:
        state = schema_state(engine)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc.__class__.__name__
        return fail(
            G,
            name,
            Text("cannot open %(where)s: %(reason)s", where=where, reason=reason),
            Text("check database_url and that the database server runs"),
        )
    if state.current is None:
        return fail(
            G, name, Text("%(where)s is not set up", where=where), Text("run `publisher init`")
        )
    if not state.up_to_date:
        return fail(
            G,
            name,
            Text(
                "%(where)s is at migration %(current)s, the code needs %(head)s",
                where=where,
                current=state.current,
                head=state.head,
            ),
            Text("run `publisher db upgrade`"),
        )
    return ok(
        G, name, Text("%(where)s, migrated (%(current)s)", where=where, current=state.current)
    )
