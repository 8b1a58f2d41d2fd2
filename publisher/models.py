"""Every table of the store, imported in one place so migrations and tests see the whole schema."""

from publisher.articles.models import Article, ArticleStatus, ArticleTopic, Topic
from publisher.subscribers.models import (
    Consent,
    MailingList,
    MailingListTopic,
    Subscriber,
    SubscriberTopic,
    Subscription,
    Suppression,
)

__all__ = [
    "Article",
    "ArticleStatus",
    "ArticleTopic",
    "Consent",
    "MailingList",
    "MailingListTopic",
    "Subscriber",
    "SubscriberTopic",
    "Subscription",
    "Suppression",
    "Topic",
]
