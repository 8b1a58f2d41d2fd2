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


def name_in(name: str, name_en: str | None, language: str) -> str:
    """``name_en`` for English when set, else ``name``: topics and lists are named alike."""
    return name_en if language == "en" and name_en else name
