"""Every table of the store, imported in one place so migrations and tests see the whole schema."""

from publisher.articles.models import Article, ArticleStatus, ArticleTopic
from publisher.audit import AuditEntry
from publisher.delivery.models import (
    Bounce,
    BounceMailbox,
    Delivery,
    JobMessage,
    RateCounter,
    SendJob,
    Worker,
)
from publisher.digests.models import Edition, EditionContent
from publisher.staff.models import ApiToken, StaffAccount, StaffRecoveryCode, StaffSession
from publisher.subscribers.models import (
    Consent,
    MailingList,
    MailingListTopic,
    Subscriber,
    SubscriberTopic,
    Subscription,
    Suppression,
)
from publisher.topics import Topic

__all__ = [
    "ApiToken",
    "Article",
    "ArticleStatus",
    "ArticleTopic",
    "AuditEntry",
    "Bounce",
    "BounceMailbox",
    "Consent",
    "Delivery",
    "Edition",
    "EditionContent",
    "JobMessage",
    "MailingList",
    "MailingListTopic",
    "RateCounter",
    "SendJob",
    "StaffAccount",
    "StaffRecoveryCode",
    "StaffSession",
    "Subscriber",
    "SubscriberTopic",
    "Subscription",
    "Suppression",
    "Topic",
    "Worker",
]
