"""Every table of the store, imported in one place so migrations and tests see the whole schema."""

from publisher.articles.models import (
    Article,
    ArticleCommunity,
    ArticleRevision,
    ArticleStatus,
    ArticleTopic,
)
from publisher.audit import AuditEntry
from publisher.communities import Community
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
    SubscriberCommunity,
    SubscriberTopic,
    Subscription,
    Suppression,
)
from publisher.topics import Topic

__all__ = [
    "ApiToken",
    "Article",
    "ArticleCommunity",
    "ArticleRevision",
    "ArticleStatus",
    "ArticleTopic",
    "AuditEntry",
    "Bounce",
    "BounceMailbox",
    "Community",
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
    "SubscriberCommunity",
    "SubscriberTopic",
    "Subscription",
    "Suppression",
    "Topic",
    "Worker",
]
