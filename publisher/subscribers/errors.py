"""The one error every register rule raises when broken, so a shell catches one class.

Each concept's own refusals (``ListNotFound``, ``SubscriptionRefused`` ...) live beside the rule
that raises them and derive from :class:`RegisterError`.
"""

from __future__ import annotations


class RegisterError(Exception):
    """A register rule was broken; the message says which and what to do."""
