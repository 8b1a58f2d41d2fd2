"""Is this deployment ready to send? (``publisher check`` and the admin's dashboard.)

Each module checks one part and returns :class:`~publisher.checks.results.Check` lines:
:mod:`.settings` (no network but the database), :mod:`.relay` (SMTP), :mod:`.domain` (DNS),
:mod:`.web` (the site from outside). The parts that wait on the network run at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from sqlalchemy.engine import Engine

from publisher.checks.results import Check, Group, Status
from publisher.config import Settings

__all__ = ["Check", "Group", "Status", "check_deployment", "run_checks"]


async def run_checks(
    settings: Settings,
    engine: Engine,
    *,
    smtp: bool = True,
    dns: bool = True,
    web: bool = True,
) -> list[Check]:
    """Every check, in the order they are shown (settings, SMTP, DNS, web)."""
    from publisher.checks.domain import domain_checks
    from publisher.checks.relay import relay_checks
    from publisher.checks.settings import settings_checks
    from publisher.checks.web import unsubscribe_check

    async def one(check: Awaitable[Check]) -> list[Check]:
        return [await check]

    parts: list[Awaitable[list[Check]]] = [asyncio.to_thread(settings_checks, settings, engine)]
    if smtp:
        parts.append(relay_checks(settings))
    if dns:
        parts.append(domain_checks(settings))
    if web:
        parts.append(one(unsubscribe_check(settings)))
    found = await asyncio.gather(*parts)
    return [check for part in found for check in part]


def check_deployment(settings: Settings, engine: Engine, **parts: bool) -> list[Check]:
    """:func:`run_checks` from code that is not async (the CLI, an admin route's thread)."""
    return asyncio.run(run_checks(settings, engine, **parts))


def failed(checks: list[Check]) -> bool:
    return any(check.status is Status.fail for check in checks)
