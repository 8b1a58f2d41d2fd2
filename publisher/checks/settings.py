"""The settings a send depends on: the secret key, the site's address, the sender, the time
zone and the database. No network but the database's."""

from __future__ import annotations

from email.utils import parseaddr

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from publisher.checks.results import Check, Group, fail, ok, warn
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
        ok(G, "timezone", f"{settings.timezone}: schedules and dates in mails use it"),
        _database(settings, engine),
    ]


def _secret(settings: Settings) -> Check:
    problem = weak_secret(settings)
    if problem is None and len(set(settings.secret)) < MIN_DISTINCT:
        problem = (
            "secret_key repeats a few characters: it does not look random; set it to the "
            'output of: python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    if problem is not None:
        what, _, how = problem.partition(": ")
        return fail(G, "secret key", what, how)
    return ok(G, "secret key", "long enough and random-looking (it signs every link in the mails)")


def _base_url(settings: Settings) -> Check:
    if not settings.base_url.startswith("https://"):
        return fail(
            G,
            "base_url",
            f"{settings.base_url} is not https: Gmail and Yahoo take one-click unsubscribe "
            "links (RFC 8058) only over https, and links in mails travel in the clear",
            "set base_url to the site's https address, e.g. https://novice.example.org",
        )
    return ok(G, "base_url", f"{settings.base_url} (https)")


def _from_address(settings: Settings) -> Check:
    name, address = parseaddr(settings.from_address)
    domain = address.rpartition("@")[2]
    if "." not in domain:
        return fail(
            G,
            "From address",
            f"{address}: the domain {domain!r} is not one receivers can look up",
            "set from_address to an address of the town hall's own domain",
        )
    if not name:
        return warn(
            G,
            "From address",
            f"{address} has no display name: inboxes show the bare address",
            "write from_address as 'Mestna občina Novo mesto <novice@example.org>'",
        )
    return ok(G, "From address", f"{name} <{address}>, domain {domain}")


def _database(settings: Settings, engine: Engine) -> Check:
    where = settings.database_url_safe
    try:
        state = schema_state(engine)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc.__class__.__name__
        return fail(
            G,
            "database",
            f"cannot open {where}: {reason}",
            "check database_url and that the database server runs",
        )
    if state.current is None:
        return fail(G, "database", f"{where} is not set up", "run `publisher init`")
    if not state.up_to_date:
        return fail(
            G,
            "database",
            f"{where} is at migration {state.current}, the code needs {state.head}",
            "run `publisher db upgrade`",
        )
    return ok(G, "database", f"{where}, migrated ({state.current})")
