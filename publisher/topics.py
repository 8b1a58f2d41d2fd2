"""The topics readers follow (promet, kultura ...): one table both articles and subscribers use.

Articles are filed under topics, and lists and subscribers choose topics, so the table lives
at the top of the package, below ``articles`` and ``subscribers``, where both may import it
without reaching sideways. Each side keeps its own link table (``article_topic``,
``mailing_list_topic``, ``subscriber_topic``) and its own queries.
"""

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel


class Topic(SQLModel, table=True):
    """A subject readers can follow; ``name`` is the Slovenian label, ``slug`` is in URLs."""

    __tablename__ = "topic"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
