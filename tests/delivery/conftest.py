"""The composed digest the mail tests use, for the delivery tests that send it."""

from tests.mail.conftest import branding, digest  # noqa: F401 (fixtures)
