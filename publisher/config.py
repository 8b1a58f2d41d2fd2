"""Settings: one object, read from ``config/publisher.toml`` and ``PUBLISHER_*`` variables.

Precedence (highest first): environment variables, the TOML file named by ``PUBLISHER_CONFIG``
(else ``config/publisher.toml`` in the working directory), the defaults below. A wrong setting
fails at start with its key's name (see :class:`SettingsError`) instead of deep in a stack trace.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from publisher.addresses import InvalidAddress, parse_address
from publisher.i18n import LANGUAGES
from publisher.slugs import slug_problem

DEFAULT_CONFIG_PATH = Path("config/publisher.toml")
MIN_SECRET_BYTES = 32
KNOWN_SECRETS = frozenset(
    {
        "dev-only-insecure-secret-change-me",  # the built-in default of earlier versions
        "change-me",
        "changeme",
        "secret",
    }
)
"""Secrets that appear in the project's files (old defaults, examples): never good enough."""


StaffRoleName = Literal["editor", "approver", "admin"]
"""The staff roles as settings name them (``publisher.staff.models.Role``, which sits above
the settings, has the same values; a test keeps the two equal)."""


@dataclass(frozen=True)
class SiteNames:
    """The site's name in the forms sentences need: Slovenian declines it (nominative
    "Mestna občina Novo mesto", genitive "Mestne občine …", locative "v Mestni občini …")."""

    nominative: str
    genitive: str
    locative: str


_DEFAULT_SITE_NAME = "Mestna občina Novo mesto"


class SettingsError(Exception):
    """A setting is missing, unknown or invalid; the message names the key and the file."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


class ScheduleEntry(BaseModel):
    """One ``[[schedule]]`` table: when a list's digest goes out on its own (``digests.schedule``).

    Lives here, not in ``digests``, because it is a shape of the settings file and settings
    sit below every other package.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    list: str
    """The list's slug, e.g. ``tedenske-novice``."""
    day: str = "fri"
    """``mon`` … ``sun``, or several separated by commas (``mon,thu``)."""
    time: str = "12:00"
    """Local time (the ``timezone`` setting), 24-hour ``HH:MM``."""
    approval: bool = False
    """True: the schedule only prepares a draft edition, which staff approve in the admin."""
    period: Literal["week", "day", "month"] = "week"
    """What an edition covers: the period the run falls in (``covers = "current"``) …"""
    covers: Literal["current", "previous"] = "current"
    """… or the one before it (a Monday-morning digest of last week)."""

    @field_validator("list")
    @classmethod
    def _check_list(cls, value: str) -> str:
        problem = slug_problem(value)
        if problem is not None:
            raise ValueError(f"list: {problem}")
        return value

    @field_validator("day")
    @classmethod
    def _check_day(cls, value: str) -> str:
        days = [part.strip().lower()[:3] for part in value.split(",") if part.strip()]
        wrong = [part for part in days if part not in WEEKDAYS]
        if not days or wrong:
            raise ValueError(f"{value!r}: use one of {', '.join(WEEKDAYS)}, or several with commas")
        return ",".join(dict.fromkeys(days))

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        match = _CLOCK.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a time of day; use HH:MM, e.g. 12:00")
        return f"{int(match[1]):02d}:{match[2]}"

    @property
    def hour(self) -> int:
        return int(self.time[:2])

    @property
    def minute(self) -> int:
        return int(self.time[3:])


class Settings(BaseSettings):
    """Everything an operator can set: field names are TOML keys; env vars add ``PUBLISHER_``."""

    model_config = SettingsConfigDict(
        env_prefix="PUBLISHER_",
        extra="forbid",
        validate_default=True,
        populate_by_name=True,
    )

    database_url: str = "sqlite:///publisher.db"
    base_url: str = "http://localhost:8000"
    site_name: str = _DEFAULT_SITE_NAME
    """The municipality's name as it stands alone (nominative), in headers and signatures."""
    site_name_genitive: str = "Mestne občine Novo mesto"
    """``site_name`` in the genitive, for "na spletni strani Mestne občine Novo mesto"."""
    site_name_locative: str = "Mestni občini Novo mesto"
    """``site_name`` in the locative, for "v Mestni občini Novo mesto"."""
    site_name_en: str = "City Municipality of Novo mesto"
    """The name in English mail and pages (English does not decline it)."""
    timezone: str = "Europe/Ljubljana"
    language: str = "sl"
    secret_key: SecretStr | None = None
    """Unset: read from the file beside the SQLite database (see :func:`secret_file`)."""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    smtp_pool: int = Field(default=8, ge=1, le=64)
    smtp_rate: float = Field(default=0.0, ge=0)
    smtp_daily_cap: int = Field(default=0, ge=0)
    smtp_max_attempts: int = Field(default=6, ge=1, le=50)
    smtp_retry_base: float = Field(default=60.0, gt=0)
    delivery_batch: int = Field(default=200, ge=1, le=5000)
    worker_lease: float = Field(default=120.0, gt=0)
    worker_heartbeat: float = Field(default=2.0, gt=0)
    # --- watching it run ---
    metrics_enabled: bool = False
    """Serve Prometheus metrics at ``/metrics`` (to ``metrics_allow`` only; others get 404)."""
    metrics_allow: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1", "::1")
    """Addresses or networks that may read the metrics (the client as ``trusted_proxies``
    decide it), on ``/metrics`` and on the worker's metrics port."""
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    """``publisher worker`` serves the delivery metrics on this port; 0: it does not."""
    worker_metrics_host: str = "127.0.0.1"
    """The address the worker's metrics port listens on."""
    log_format: Literal["text", "json"] = "text"
    """``text``: one readable line per event; ``json``: one JSON object per line."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """The least important events ``serve`` and ``worker`` log (other commands: warnings)."""
    smtp_reconnect_base: float = Field(default=5.0, gt=0, le=3600)
    """Seconds a sender waits after a connection trouble before it tries the relay again."""
    smtp_reconnect_max: float = Field(default=300.0, gt=0, le=86400)
    """The longest such wait (the wait doubles from ``smtp_reconnect_base`` up to this)."""
    pause_window: int = Field(default=50, ge=1, le=10000)
    """How many of an edition's latest first attempts the stop rule looks at."""
    pause_failure_rate: float = Field(default=0.5, gt=0, le=1)
    """The share of failures among them that pauses the edition."""
    sending_window: str = ""
    """``HH:MM-HH:MM`` in the site's time zone when editions may be sent; empty: always."""
    jobs_poll: float = Field(default=10.0, gt=0, le=60)
    """Seconds between a process's tries to become the one that runs scheduled jobs."""
    jobs_resume_every: float = Field(default=15.0, gt=0, le=3600)
    """Seconds between looks for interrupted sends to resume."""
    from_address: str = Field(
        default="Mestna občina Novo mesto <novice@novomesto.example.org>",
        validation_alias=AliasChoices("from", "from_address", "PUBLISHER_FROM"),
    )
    bounce_domain: str | None = None
    """Where bounces of digest copies go (``bounces+<tag>@<domain>``); unset: the From domain."""
    bounce_hard_statuses: list[str] = Field(default_factory=lambda: ["5.1"])
    """``failed`` with a status starting so (a bad mailbox or domain): suppressed at once."""
    bounce_soft_statuses: list[str] = Field(default_factory=lambda: ["5.2.2", "4"])
    """``failed`` with a status starting so (a full mailbox, lasting deferrals): counted."""
    bounce_soft_limit: int = Field(default=3, ge=1, le=100)
    bounce_soft_days: int = Field(default=30, ge=1, le=365)
    bounce_max_bytes: int = Field(default=2_000_000, ge=10_000, le=100_000_000)
    """The largest bounce ``bounces listen`` takes (and any path stores)."""
    breaker_min_copies: int = Field(default=500, ge=1)
    breaker_hard_percent: float = Field(default=5.0, gt=0, le=100)
    breaker_complaint_percent: float = Field(default=0.3, gt=0, le=100)
    """An edition pauses when its hard bounces or complaints reach these shares of the copies
    sent, once it has sent ``breaker_min_copies``."""
    bounce_listen_host: str = "127.0.0.1"
    bounce_listen_port: int = Field(default=2525, ge=1, le=65535)
    bounce_imap_url: str | None = None
    """The mailbox ``bounces fetch`` reads: ``imaps://USER@HOST[:PORT]/FOLDER`` (TLS) or
    ``imap://…`` (STARTTLS, required); never a password in it."""
    bounce_imap_password: SecretStr | None = None
    bounce_imap_password_file: Path | None = None
    """A file holding the mailbox password (its first line), instead of the setting."""
    bounce_imap_folder: str = Field(default="Processed", min_length=1, max_length=200)
    """Where processed bounces are moved (created if missing)."""
    bounce_imap_ca_file: Path | None = None
    """Certificates (PEM) trusted for the mailbox's TLS besides the system's own."""
    bounce_imap_every: float = Field(default=300.0, ge=10, le=86_400)
    """Seconds between ``serve``'s reads of the mailbox (only with ``bounce_imap_url``)."""
    bounce_ses_topic_arns: list[str] = Field(default_factory=list)
    """The SNS topics whose SES notifications are taken; empty: the SES webhook is off."""
    bounce_sns_cert_url_prefixes: list[str] = Field(default_factory=list)
    """Places besides ``https://sns.<region>.amazonaws.com/`` from which SNS signing
    certificates and subscription confirmations are fetched (tests, a private endpoint)."""
    bounce_postmark_credentials: SecretStr | None = None
    """``user:password`` Postmark sends with Basic auth; unset: the Postmark webhook is off."""
    bounce_mailgun_signing_key: SecretStr | None = None
    """Mailgun's webhook signing key; unset: the Mailgun webhook is off."""
    bounce_sendgrid_public_key: str | None = None
    """SendGrid's Event Webhook verification key (base64); unset: the webhook is off."""
    confirm_token_days: int = Field(default=7, ge=1, le=90)
    # --- retention (storage limitation) ---
    purge_unconfirmed_days: int = Field(default=30, ge=0, le=3650)
    """Days after which a subscription never confirmed is deleted with its consent attempts
    (``publisher purge``, and daily under ``serve``); 0: never. At least
    ``confirm_token_days``, so that no confirmation link still valid leads nowhere."""
    purge_delivery_months: int = Field(default=13, ge=0, le=240)
    """Months after which a copy's ledger row and its bounces lose the address, the name, the
    server's reply and the raw report (the counts stay); 0: never."""

    @model_validator(mode="after")
    def _forget_another_towns_forms(self) -> Settings:
        """A renamed site whose forms were left out falls back to ``site_name`` itself
        (see :meth:`site_names`) rather than keep the default town's declined names."""
        if "site_name" in self.model_fields_set and self.site_name != _DEFAULT_SITE_NAME:
            for form in ("site_name_genitive", "site_name_locative", "site_name_en"):
                if form not in self.model_fields_set:
                    setattr(self, form, "")
        return self

    def site_names(self, language: str) -> SiteNames:
        """The site's name in ``language``, each form falling back to the nominative when
        unset: "Mestna občina Novo mesto" reads stiffly in a sentence, but never wrongly."""
        if language == "en":
            name = self.site_name_en or self.site_name
            return SiteNames(name, name, name)
        return SiteNames(
            self.site_name,
            self.site_name_genitive or self.site_name,
            self.site_name_locative or self.site_name,
        )

    @model_validator(mode="after")
    def _check_purge_unconfirmed_days(self) -> Settings:
        days = self.purge_unconfirmed_days
        if 0 < days < self.confirm_token_days:
            raise ValueError(
                f"purge_unconfirmed_days: {days} is shorter than confirm_token_days "
                f"({self.confirm_token_days}); set it to at least that, or 0 for never"
            )
        return self

    privacy_url: str | None = None
    accessibility_checked: date = date(2026, 12, 2)
    """The day the site's accessibility was last checked, as its accessibility statement says."""
    accessibility_contact: str | None = None
    """Where residents report an accessibility problem: an email address or an https URL;
    unset: the From address."""
    accessibility_supervisor_url: str = (
        "https://e-uprava.gov.si/si/podrocja/drzava-druzba/inspekcijski-postopki/"
        "prijava-krsitev-inspektoratu-za-informacijsko-druzbo.html"
    )
    """Where a resident turns when the site does not answer a report: the inspection body
    that supervises accessibility under ZDSMA (Inšpektorat za informacijsko družbo)."""
    consent_version: str = Field(default="2025-1", min_length=1, max_length=60)
    subscribe_limit_ip: str = "20/hour"
    subscribe_limit_address: str = "5/hour"
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed."""
    ratelimit_storage: str = "memory://"
    """Where rate-limit counts live: ``memory://`` (per process) or ``redis://HOST:PORT/DB``."""
    require_two_factor: Annotated[tuple[StaffRoleName, ...], NoDecode] = ()
    """Staff roles that must sign in with a second factor (e.g. ``approver,admin``); empty:
    each staff member chooses."""
    confirm_mail_limit_ip: str = "10/hour;30/day"
    """Confirmation mails one client's submissions may cause (each address also gets at most
    one a day, whoever asks)."""
    websub_hub: str | None = None
    feed_entries: int = Field(default=50, ge=1, le=1000)
    feed_ttl: int = Field(default=15, ge=1, le=1440)
    postal_address: str = "Seidlova cesta 1, 8000 Novo mesto"
    logo_url: str | None = None
    logo_width: int = Field(default=96, ge=1, le=600)
    logo_height: int = Field(default=48, ge=1, le=300)
    digest_subject: str = "{list_name}, {period}"
    brand_colour: str = Field(default="#1b4f7a", pattern=r"^#[0-9a-fA-F]{6}$")
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_key_path: Path | None = None
    list_unsubscribe_mailto: str | None = None
    # --- publisher check (is this deployment ready to send?) ---
    smtp_ca_file: Path | None = None
    """Certificates (PEM) trusted for the relay's TLS besides the system's own (a relay with a
    certificate of the organisation's own CA); the sends and ``publisher check`` both use it."""
    check_sending_ips: list[str] = Field(default_factory=list)
    """The addresses the relay sends from, which SPF must allow; empty: the relay host's
    A/AAAA records (``smtp_host``)."""
    dns_resolver: str = ""
    """The DNS server ``publisher check`` asks, ``HOST`` or ``HOST:PORT`` (``[::1]:53``);
    empty: the system's resolver."""
    dns_timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds one DNS question of ``publisher check`` may take."""

    @field_validator("smtp_ca_file")
    @classmethod
    def _check_smtp_ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file (PEM certificates)")
        return value

    @field_validator("check_sending_ips")
    @classmethod
    def _check_sending_ips(cls, value: list[str]) -> list[str]:
        for part in value:
            try:
                ipaddress.ip_address(part)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address (e.g. 192.0.2.25)") from None
        return value

    @field_validator("dns_resolver")
    @classmethod
    def _check_dns_resolver(cls, value: str) -> str:
        value = value.strip()
        if value and dns_server(value) is None:
            raise ValueError(f"{value!r}: give an IP address, and a port if not 53 (127.0.0.1:53)")
        return value

    schedule: list[ScheduleEntry] = Field(default_factory=list)
    import_fetch_deadline: float = Field(default=30.0, gt=0, le=600)
    """Seconds a feed URL import may take in all, redirects included."""
    import_allow_private_networks: bool = False
    """Let feed URL imports reach loopback, private and link-local addresses."""
    import_allowed_hosts: list[str] = Field(default_factory=list)
    """``host:port`` pairs a feed URL import may reach even at a private address."""
    media_store: Literal["auto", "folder", "database"] = "auto"
    """Where photos are kept: ``auto`` is a folder on SQLite and the database on PostgreSQL
    (so that every web machine serves the same photos)."""
    media_dir: Path | None = None
    """The folder of the ``folder`` store; by default ``media`` beside the SQLite file."""
    photo_max_bytes: int = Field(default=15_000_000, ge=100_000, le=200_000_000)
    """The largest photo file taken (upload, file beside an export, ``image_url``)."""
    photo_max_pixels: int = Field(default=50_000_000, ge=1_000_000, le=500_000_000)
    """The most pixels a photo may have: Pillow's decompression-bomb guard refuses more."""

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        backend = url.get_backend_name()
        if backend == "postgres":
            backend = "postgresql"
        if backend not in {"sqlite", "postgresql"}:
            raise ValueError("use sqlite:///FILE or postgresql://USER@HOST/DB")
        if backend == "postgresql":
            # psycopg 3 is the driver we ship; plain postgresql:// URLs mean it.
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"{value!r}: use one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")) or value[-3:] == "://":
            raise ValueError("must be an absolute http(s) URL, e.g. https://novice.example.org")
        if any(c in value for c in " \r\n\t"):
            raise ValueError("must not contain spaces or line breaks")
        return value.rstrip("/")

    @field_validator("websub_hub")
    @classmethod
    def _check_websub_hub(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # unset or empty: feeds declare no hub and nothing is pinged
        value = value.strip()
        if not value.startswith(("http://", "https://")) or value[-3:] == "://":
            raise ValueError(
                "must be an absolute http(s) URL, e.g. https://pubsubhubbub.appspot.com/"
            )
        if any(c in value for c in " \r\n\t"):
            raise ValueError("must not contain spaces or line breaks")
        return value

    @field_validator("accessibility_contact")
    @classmethod
    def _check_accessibility_contact(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith("https://"):
            if value[8:].split("/", 1)[0] == "" or any(c in value for c in " \r\n\t<>\"'"):
                raise ValueError("must be an https URL such as https://www.example.org/pisite-nam")
            return value
        try:
            return parse_address(value).email
        except InvalidAddress as exc:
            raise ValueError(
                f"must be an email address (e.g. dostopnost@example.org) or an https URL: {exc}"
            ) from None

    @field_validator("accessibility_supervisor_url")
    @classmethod
    def _check_supervisor_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("https://") or any(c in value for c in " \r\n\t<>\"'"):
            raise ValueError("must be an https URL")
        return value

    @field_validator("sending_window")
    @classmethod
    def _check_sending_window(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        start, dash, end = value.replace("–", "-").partition("-")
        first, last = _CLOCK.fullmatch(start.strip()), _CLOCK.fullmatch(end.strip())
        if not dash or first is None or last is None:
            raise ValueError(f"{value!r}: write the hours as HH:MM-HH:MM, e.g. 07:00-21:00")
        start, end = f"{int(first[1]):02d}:{first[2]}", f"{int(last[1]):02d}:{last[2]}"
        if start == end:
            raise ValueError(f"{value!r}: the window opens and closes at once; leave it empty")
        return f"{start}-{end}"

    @field_validator("digest_subject")
    @classmethod
    def _check_subject(cls, value: str) -> str:
        try:
            value.format(list_name="x", period="y")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may use only {list_name} and {period}") from None
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain line breaks")
        return value

    @model_validator(mode="after")
    def _check_dkim(self) -> Settings:
        given = [self.dkim_domain, self.dkim_selector, self.dkim_key_path]
        if any(given) and not all(given):
            raise ValueError("dkim_domain, dkim_selector and dkim_key_path: set all three or none")
        if self.dkim_key_path is not None and not self.dkim_key_path.is_file():
            raise ValueError(f"dkim_key_path: {self.dkim_key_path} is not a readable file")
        return self

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Ljubljana)") from None
        return value

    @field_validator("bounce_domain")
    @classmethod
    def _check_bounce_domain(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip(".").lower()
        try:
            ascii_name = value.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{value!r} is not a domain name") from None
        if not _DOMAIN.fullmatch(ascii_name):
            raise ValueError(f"{value!r} is not a domain name (e.g. bounces.example.org)")
        return ascii_name

    @field_validator("bounce_imap_url")
    @classmethod
    def _check_bounce_imap_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("must be imaps://USER@HOST/FOLDER or imap://USER@HOST/FOLDER")
        if parts.password is not None:
            raise ValueError(
                "must not hold the password: set bounce_imap_password or "
                "bounce_imap_password_file instead"
            )
        if not parts.username:
            raise ValueError("must name the mailbox's user, e.g. imaps://odboji@mail.example.org/")
        try:
            parts.port  # noqa: B018 (raises for a port that is no number)
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        return value

    @field_validator("bounce_imap_folder")
    @classmethod
    def _check_bounce_imap_folder(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9 ._/-]+", value) or value.strip() != value:
            raise ValueError(
                f"{value!r}: use letters, digits, spaces, dots, dashes and slashes (e.g. Processed)"
            )
        return value

    @field_validator("bounce_sns_cert_url_prefixes")
    @classmethod
    def _check_sns_prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            parts = urlsplit(prefix)
            if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path:
                raise ValueError(f"{prefix!r}: give a URL up to a path, e.g. https://host/certs/")
        return value

    @field_validator("bounce_postmark_credentials")
    @classmethod
    def _check_postmark(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        user, sep, password = value.get_secret_value().partition(":")
        if not sep or not user or len(password) < 16:
            raise ValueError("give user:password, with a password of at least 16 characters")
        return value

    @field_validator("bounce_hard_statuses", "bounce_soft_statuses")
    @classmethod
    def _check_statuses(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not re.fullmatch(r"[245](\.\d{1,3}){0,2}", prefix):
                raise ValueError(
                    f"{prefix!r} is not a status code or its start (e.g. 5.1 or 5.2.2)"
                )
        return value

    @field_validator("from_address")
    @classmethod
    def _check_from(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain line breaks")
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError("must be an address like 'Občina <novice@example.org>'")
        return value

    @field_validator("subscribe_limit_ip", "subscribe_limit_address", "confirm_mail_limit_ip")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        from limits import parse_many  # only the residents' pages need it

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{value!r}: write e.g. 20/hour or 5/minute;50/day") from None
        return value

    @field_validator("trusted_proxies", "require_two_factor", "metrics_allow", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):  # PUBLISHER_TRUSTED_PROXIES="10.0.0.1, 10.0.0.0/24"
            return tuple(part for part in re.split(r"[\s,]+", value) if part)
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for part in value:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"{part!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value

    @field_validator("ratelimit_storage")
    @classmethod
    def _check_ratelimit_storage(cls, value: str) -> str:
        value = value.strip()
        if not re.match(r"(memory|redis|rediss|redis\+sentinel|redis\+cluster)://", value):
            raise ValueError("use memory:// or redis://HOST:PORT/DB")
        return value

    @model_validator(mode="after")
    def _read_secret_file(self) -> Settings:
        if self.secret_key is None or not self.secret_key.get_secret_value():
            path = secret_file(self.database_url)
            if path is not None and path.is_file():
                self.secret_key = SecretStr(path.read_text(encoding="utf-8").strip())
        return self

    @property
    def secret(self) -> str:
        """The secret key's value; empty when none is configured (see :func:`weak_secret`)."""
        return self.secret_key.get_secret_value() if self.secret_key is not None else ""

    @property
    def bounce_domain_in_force(self) -> str:
        """The bounce domain: the setting, else the domain of the From address."""
        if self.bounce_domain:
            return self.bounce_domain
        domain = parseaddr(self.from_address)[1].rpartition("@")[2].lower()
        try:
            return domain.encode("idna").decode("ascii")
        except UnicodeError:
            return domain

    @property
    def accessibility_contact_in_force(self) -> str:
        """Where accessibility problems are reported: the setting, else the From address."""
        return self.accessibility_contact or parseaddr(self.from_address)[1]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_url_safe(self) -> str:
        """The database URL with any password masked, for printing."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    def public_view(self) -> dict[str, str]:
        """Every setting as text for display, secrets masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "database_url":
                value = self.database_url_safe
            elif name == "schedule":
                value = "; ".join(
                    f"{entry.list} {entry.day} {entry.time}"
                    + (" (approval)" if entry.approval else "")
                    for entry in value
                )
            elif isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            shown[name] = "" if value is None else str(value)
        return shown

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def config_path() -> Path | None:
    """The TOML file in force: ``PUBLISHER_CONFIG`` if set, else the default if it exists."""
    named = os.environ.get("PUBLISHER_CONFIG")
    if named:
        return Path(named)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def secret_file(database_url: str) -> Path | None:
    """``<database>.secret`` beside an SQLite file, where a generated secret key is kept."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}.secret")


def ensure_secret(settings: Settings) -> tuple[Settings, Path | None]:
    """The settings with a secret key: a random one made and kept beside the SQLite database
    when none is configured (``publisher init`` and ``demo``), so no install runs on a known
    value. Returns the file it was written to, or ``None`` when nothing was made."""
    if settings.secret:
        return settings, None
    path = secret_file(settings.database_url)
    if path is None:
        return settings, None  # PostgreSQL: the operator sets PUBLISHER_SECRET_KEY
    value = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(value + "\n")
    return settings.model_copy(update={"secret_key": SecretStr(value)}), path


def weak_secret(settings: Settings) -> str | None:
    """Why the secret key is not fit to sign links and sessions, or ``None`` if it is."""
    how = (
        "set PUBLISHER_SECRET_KEY (or secret_key in the settings file) to a long random value, "
        'e.g. the output of: python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
    )
    value = settings.secret
    if not value:
        return f"secret_key is not set: {how}, or run `publisher init` to make one"
    if value in KNOWN_SECRETS or value.strip().lower() in KNOWN_SECRETS:
        return f"secret_key is a value published with publisher, known to anyone: {how}"
    if len(value.encode("utf-8")) < MIN_SECRET_BYTES:
        return f"secret_key is shorter than {MIN_SECRET_BYTES} bytes: {how}"
    return None


def dns_server(value: str) -> tuple[str, int] | None:
    """``HOST[:PORT]`` of the ``dns_resolver`` setting as (IP address, port); None if wrong."""
    host, port = value, "53"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else (rest or "53")
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        return None
    return (host, number) if 0 < number < 65536 else None


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation failures into one readable :class:`SettingsError`."""
    path = config_path()
    if path is not None and not path.is_file():
        raise SettingsError(f"PUBLISHER_CONFIG names {path}, which is not a file")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from None
    except ValueError as exc:  # TOML syntax errors surface as ValueError subclasses
        raise SettingsError(f"{path}: {exc}") from None


def _describe(exc: ValidationError, path: Path | None) -> str:
    origin = (
        f" (from {path} or PUBLISHER_* environment)" if path else " (from PUBLISHER_* environment)"
    )
    lines = [f"invalid settings{origin}:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "?"
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown setting (check the spelling in config/publisher.toml)")
        else:
            lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)
