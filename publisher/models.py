"""Every table of the store, imported in one place so migrations and tests see the whole schema."""

from publisher.articles.models import Article, ArticleStatus, ArticleTopic, Topic

__all__ = ["Article", "ArticleStatus", "ArticleTopic", "Topic"]
