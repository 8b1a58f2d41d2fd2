"""Every table of the store, imported in one place so migrations and tests see the whole schema."""

from publisher.articles.models import Article, ArticleRevision, ArticleStatus, ArticleTopic
from publisher.audit import AuditEntry
from publisher.delivery.models import (
    Bounce,
    BounceMailbox,
    Delivery,
    JobMessage,
    RateCounter,
    RelaySeen,
    SendJob,
    Worker,
)
from publisher.digests.models import Edition, EditionContent
from publisher.media.models import MediaObject, Photo
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
    "ArticleRevision",
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
    "MediaObject",
    "Photo",
    "RateCounter",
    "RelaySeen",
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
