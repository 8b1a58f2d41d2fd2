"""The topics readers follow (promet, kultura ...): one table both articles and subscribers use.

Articles are filed under topics, and lists and subscribers choose topics, so the table lives
at the top of the package, below ``articles`` and ``subscribers``, where both may import it
without reaching sideways. Each side keeps its own link table (``article_topic``,
``mailing_list_topic``, ``subscriber_topic``) and its own queries.
"""

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel


class Topic(SQLModel, table=True):
    """A subject readers can follow; ``name`` is the Slovenian label (``name_en`` the English
    one, optional), ``slug`` is in URLs."""

    __tablename__ = "topic"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    name_en: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))

    def name_for(self, language: str) -> str:
        """The name residents reading ``language`` see: the English one on English pages
        and in English mail when staff gave one, else the Slovenian."""
        return name_in(self.name, self.name_en, language)


NAME_MAX_LENGTH = 200
"""The longest name, Slovenian or English, a topic or a list may have (the columns' size)."""


def clean_english_name(value: str | None) -> str | None:
    """An English name as stored: spaces collapsed, empty meaning "none" (the Slovenian name
    shows); a name longer than :data:`NAME_MAX_LENGTH` is a ``ValueError`` saying so.

    Every way staff name things (CLI, admin, API) passes through here, so a name is checked
    once, the same way, whatever typed it."""
    if value is None:
        return None
    cleaned = " ".join(value.split())
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValueError(f"English name: at most {NAME_MAX_LENGTH} characters")
    return cleaned or None


def name_in(name: str, name_en: str | None, language: str) -> str:
    """``name_en`` for English when set, else ``name``: topics and lists are named alike."""
    return name_en if language == "en" and name_en else name
