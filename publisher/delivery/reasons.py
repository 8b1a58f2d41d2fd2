"""Why the program paused a send, worded once: the English line stored as the job's
``state_reason`` (what the log, the CLI and the API show) is made here from a catalog source,
and the admin shows the same line in Slovenian through :func:`reason_in`."""

from __future__ import annotations

from publisher.translations import stored_line_in

RELAY_REFUSED = "paused: the mail server refused the connection: %(reply)s"
TOO_MANY_FAILED = (
    "paused: %(failures)s of the last %(window)s first attempts failed "
    "(the limit is %(limit)s); last reply: %(reply)s"
)
HARD_BOUNCES = (
    "paused by the circuit breaker: %(count)s hard bounces (%(percent)s %%, limit %(limit)s %%) "
    "among %(sent)s copies sent; look at the bounces before resuming"
)
COMPLAINTS = (
    "paused by the circuit breaker: %(count)s complaints (%(percent)s %%, limit %(limit)s %%) "
    "among %(sent)s copies sent; look at the bounces before resuming"
)
PAUSE_REASONS = (RELAY_REFUSED, TOO_MANY_FAILED, HARD_BOUNCES, COMPLAINTS)


def pause_reason(source: str, **values: object) -> str:
    """The stored (English) reason: one of :data:`PAUSE_REASONS` with its values."""
    return source % values


def reason_in(reason: str, language: str) -> str:
    """A stored reason in ``language``; a reason of no known wording as it is."""
    return stored_line_in(reason, PAUSE_REASONS, language)
