"""Who may act for the news office: staff accounts (admin pages) and API tokens (the CMS).

Passwords and recovery codes are stored only as argon2 hashes, API tokens only as SHA-256
hashes and the two-factor secrets only encrypted with a key derived from the secret key, so a
copy of the database alone lets nobody in. No ``from __future__ import annotations``: SQLModel reads
annotations at runtime.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from publisher.clock import utcnow
from publisher.db import StoredEnum, UTCDateTime


class Role(StrEnum):
    """What a staff member or an API token may do; each role can do all the one before can.

    An editor writes articles, drafts, previews and sends test copies to themself; an approver
    also approves and sends editions (and pauses, resumes, cancels, retries them); an admin
    also manages staff, lists, the register (its CSV import and export) and settings. The
    register holds residents' personal data, so the fewest people should see it whole.
    """

    editor = "editor"
    approver = "approver"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: "Role") -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


ROLE_CHECK = "role IN ({})".format(", ".join(f"'{role.value}'" for role in Role))

ROLE_NAMES = {Role.editor: "urednik", Role.approver: "odobritelj", Role.admin: "skrbnik"}
"""The roles as the (Slovenian) admin names them."""


class StaffAccount(SQLModel, table=True):
    __tablename__ = "staff_account"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    """Lower-cased; the login name."""
    name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    role: Role = Field(default=Role.editor, sa_column=Column(StoredEnum(Role, 20), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    totp_secret: str | None = Field(default=None, sa_column=Column(String(255)))
    """The TOTP secret, encrypted (:mod:`publisher.staff.two_factor`); set while setting up."""
    totp_enabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    """When two-factor sign-in was turned on; None: a password is enough (or it is being set up)."""
    totp_last_step: int | None = Field(default=None, sa_column=Column(Integer))
    """The time step of the last code accepted: that code, and older ones, never work again."""


class StaffRecoveryCode(SQLModel, table=True):
    """One of the one-time codes that stand in for the authenticator app (a lost phone)."""

    __tablename__ = "staff_recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(sa_column=Column(String(255), nullable=False))
    """argon2id of the code, as for passwords: the code itself is shown once and never kept."""
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class StaffSession(SQLModel, table=True):
    """One signed-in browser: the cookie carries a random key, the database its hash, so that
    logging out (or out everywhere, or a new password) ends the session for every copy of
    the cookie."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("staff_account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    """SHA-256 of the cookie's key: a copy of the database opens no session."""
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    awaiting_second_factor: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    """The password was right but the second factor is still to come: such a session opens
    nothing but the page that asks for the code (:mod:`publisher.staff.sessions`)."""


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    """What the token is for, e.g. ``cms``; shown in listings and logs."""
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    prefix: str = Field(sa_column=Column(String(12), nullable=False))
    """The token's first characters, so staff can tell tokens apart without the secret."""
    role: Role = Field(default=Role.editor, sa_column=Column(StoredEnum(Role, 20), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
