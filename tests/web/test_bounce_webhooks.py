"""`POST /webhooks/bounces/{provider}` over real HTTP to the running app: each provider's
documented payloads with its own authentication suppress the right addresses; anything
unauthenticated, badly signed, replayed late or from the wrong host is 401 and changes
nothing; a provider without its secret is 404; no body is ever a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import Settings
from publisher.delivery.bounces.sns import trusted_url
from publisher.delivery.models import Bounce
from publisher.subscribers.models import SuppressionReason
from publisher.web.app import create_app
from tests.delivery.bounce_support import BOUNCE_DOMAIN, copies, send_edition, suppressed
from tests.delivery.sending_support import PERIOD, SmtpServer, settings_for, stock
from tests.web.conftest import serve
from tests.web.test_body_limits import SLACK, post_streamed
from tests.web.webhook_support import (
    MAILGUN_KEY,
    POSTMARK_PASSWORD,
    POSTMARK_USER,
    TOPIC,
    FakeAmazon,
    SendGridKey,
    fake_amazon,
    mailgun_body,
    postmark_auth,
    postmark_bounce,
    sendgrid_event,
    sendgrid_events,
    ses_bounce,
    ses_complaint,
    sns_notification,
    sns_signed,
)

MAILGUN_SAMPLE_TIME = datetime.fromtimestamp(1529006854, UTC)
"""The timestamp of Mailgun's documented sample: the clock is moved there to post it."""
SNS_HEADERS = {"x-amz-sns-message-type": "Notification", "x-amz-sns-topic-arn": TOPIC}


@dataclass
class Hooks:
    url: str
    app: FastAPI
    engine: Engine
    amazon: FakeAmazon
    sendgrid: SendGridKey
    senders: dict[str, str]
    """Resident → the envelope sender (VERP) of their copy."""
    message_ids: dict[str, str]
    """Resident → the Message-ID of their copy."""

    def post(self, provider: str, body: bytes, **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/webhooks/bounces/{provider}", content=body, headers=headers, timeout=30
        )

    def ses(self, message: dict, **headers: str) -> httpx.Response:
        return self.post("ses", json.dumps(message).encode(), **(SNS_HEADERS | headers))

    def bounces(self) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(Bounce)).scalar_one())


def webhook_settings(settings: Settings, amazon: FakeAmazon, sendgrid: SendGridKey) -> Settings:
    return settings.model_copy(
        update={
            "bounce_ses_topic_arns": [TOPIC],
            "bounce_sns_cert_url_prefixes": [amazon.url + "/"],
            "bounce_postmark_credentials": _secret(f"{POSTMARK_USER}:{POSTMARK_PASSWORD}"),
            "bounce_mailgun_signing_key": _secret(MAILGUN_KEY),
            "bounce_sendgrid_public_key": sendgrid.public,
        }
    )


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)


@pytest.fixture
def hooks(engine: Engine, database_url: str) -> Iterator[Hooks]:
    """An edition sent to six residents, and the app served with every provider on."""
    stock(engine, 6)
    with SmtpServer() as smtp, fake_amazon() as amazon:
        settings = settings_for(database_url, smtp.port, bounce_domain=BOUNCE_DOMAIN)
        job_id = send_edition(engine, settings, PERIOD)
        senders = dict(smtp.handler.envelope_senders)
        message_ids = {email: row.message_id for email, row in copies(engine, job_id).items()}
        sendgrid = SendGridKey.new()

        def make_app(url: str) -> FastAPI:
            served = webhook_settings(settings, amazon, sendgrid)
            return create_app(served.model_copy(update={"base_url": url}), engine)

        with serve(make_app) as (url, app):
            yield Hooks(url, app, engine, amazon, sendgrid, senders, message_ids)


A, B, C, D = (f"obcan000{n}@example.org" for n in (0, 1, 2, 3))


def test_ses_bounces_and_complaints_through_sns_suppress_and_count_once(hooks: Hooks) -> None:
    hard = sns_signed(sns_notification(ses_bounce(hooks.senders[A], A)), hooks.amazon, "1")
    answer = hooks.ses(hard)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == {"recorded": 1}
    assert suppressed(hooks.engine, A) is SuppressionReason.hard_bounce

    again = hooks.ses(hard)  # SNS delivers at least once: the same message counts once
    assert again.json()["events"] == {"duplicate": 1}

    complaint = sns_notification(ses_complaint(hooks.senders[B], B), MessageId="c-1")
    assert hooks.ses(sns_signed(complaint, hooks.amazon, "2")).status_code == 200
    assert suppressed(hooks.engine, B) is SuppressionReason.complaint

    transient = ses_bounce(hooks.senders[C], C, bounce_type="Transient", status="4.2.2")
    answer = hooks.ses(sns_signed(sns_notification(transient, MessageId="t-1"), hooks.amazon))
    assert answer.json()["events"] == {"recorded": 1}
    assert suppressed(hooks.engine, C) is None  # soft: counted, not yet suppressed
    assert hooks.bounces() == 3
    fetched = [path for path in hooks.amazon.requests if path.endswith(".pem")]
    assert len(fetched) == 1  # the certificate is fetched once


def test_sns_messages_altered_unsigned_or_signed_elsewhere_are_401_and_change_nothing(
    hooks: Hooks,
) -> None:
    signed = sns_signed(sns_notification(ses_bounce(hooks.senders[A], A)), hooks.amazon)
    altered = signed | {"Message": signed["Message"].replace(A, D)}
    unsigned = {key: value for key, value in signed.items() if key != "Signature"}
    elsewhere = sns_signed(
        sns_notification(ses_bounce(hooks.senders[A], A))
        | {"SigningCertURL": "https://sns.eu-central-1.amazonaws.com.evil.example/x.pem"},
        hooks.amazon,
    )
    other_topic = sns_signed(
        sns_notification(ses_bounce(hooks.senders[A], A), TopicArn=TOPIC + "-other"),
        hooks.amazon,
    )
    unknown_version = signed | {"SignatureVersion": "3"}
    for message in (altered, unsigned, elsewhere, other_topic, unknown_version):
        answer = hooks.ses(message)
        assert answer.status_code == 401, message
    assert hooks.ses(signed, **{"x-amz-sns-topic-arn": "arn:aws:sns:x"}).status_code == 401
    assert hooks.bounces() == 0
    assert suppressed(hooks.engine, A) is None and suppressed(hooks.engine, D) is None
    assert not any("evil" in path for path in hooks.amazon.requests)


def test_certificates_and_confirmations_come_only_from_amazon_sns_hosts() -> None:
    settings = Settings(database_url="sqlite://")
    good = [
        "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
    ]
    bad = [
        "http://sns.eu-central-1.amazonaws.com/cert.pem",
        "https://sns.eu-central-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.eu-central-1.amazonaws.com/cert.pem",
        "https://sns.eu-central-1.amazonaws.com@evil.example/cert.pem",
        "https://user@sns.eu-central-1.amazonaws.com/cert.pem",
        "https://sns.eu-central-1.amazonaws.com:8443/cert.pem",
        "https://s3.amazonaws.com/cert.pem",
        "https://snsXeu-central-1.amazonaws.com/cert.pem",
        "file:///etc/passwd",
        "",
        None,
    ]
    assert all(trusted_url(settings, url) for url in good)
    assert not any(trusted_url(settings, url) for url in bad)


def test_a_subscription_is_confirmed_only_at_an_amazon_url_and_only_when_signed(
    hooks: Hooks,
) -> None:
    def request(subscribe_url: str) -> dict:
        return {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic. To confirm, visit the URL.",
            "SubscribeURL": subscribe_url,
            "Timestamp": "2012-04-26T20:45:04.751Z",
        }

    headers = {"x-amz-sns-message-type": "SubscriptionConfirmation"}
    foreign = sns_signed(request("https://evil.example/confirm?Token=1"), hooks.amazon)
    assert hooks.ses(foreign, **headers).status_code == 401
    ours = request(f"{hooks.amazon.url}/confirm?Action=ConfirmSubscription&Token=2")
    unsigned = sns_signed(ours, hooks.amazon) | {"Signature": "AAAA"}
    assert hooks.ses(unsigned, **headers).status_code == 401
    assert not any(path.startswith("/confirm") for path in hooks.amazon.requests)

    answer = hooks.ses(sns_signed(ours, hooks.amazon, "2"), **headers)
    assert answer.status_code == 200 and answer.json()["confirmed"] is True
    assert "/confirm?Action=ConfirmSubscription&Token=2" in hooks.amazon.requests


def test_postmark_needs_its_basic_auth_before_the_body_is_read(hooks: Hooks) -> None:
    body = postmark_bounce(A)
    missing = hooks.post("postmark", body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Basic")
    wrong = hooks.post("postmark", body, Authorization=postmark_auth(password="x" * 20))
    assert wrong.status_code == 401
    streamed = post_streamed(hooks, "/webhooks/bounces/postmark", iter([b"{" * SLACK] * 4))
    assert streamed.status == 401 and streamed.sent < 4 * SLACK
    assert hooks.bounces() == 0

    answer = hooks.post("postmark", body, Authorization=postmark_auth())
    assert answer.status_code == 200 and answer.json()["events"] == {"recorded": 1}
    assert suppressed(hooks.engine, A) is SuppressionReason.hard_bounce
    complaint = postmark_bounce(B, kind="SpamComplaint", record="SpamComplaint")
    assert hooks.post("postmark", complaint, Authorization=postmark_auth()).status_code == 200
    assert suppressed(hooks.engine, B) is SuppressionReason.complaint


def test_mailgun_is_believed_only_with_its_signature_and_a_fresh_timestamp(hooks: Hooks) -> None:
    stamp = str(int(MAILGUN_SAMPLE_TIME.timestamp()))
    with time_machine.travel(MAILGUN_SAMPLE_TIME, tick=True):
        forged = mailgun_body(A, stamp=stamp, key="key-someone-elses")
        assert hooks.post("mailgun", forged).status_code == 401
        answer = hooks.post("mailgun", mailgun_body(A, stamp=stamp, sender=hooks.senders[A]))
        assert answer.status_code == 200 and answer.json()["events"] == {"recorded": 1}
        temporary = mailgun_body(C, stamp=stamp, severity="temporary")
        assert hooks.post("mailgun", temporary).json()["events"] == {"recorded": 1}
        complained = mailgun_body(B, stamp=stamp, event="complained")
        assert hooks.post("mailgun", complained).status_code == 200
    assert suppressed(hooks.engine, A) is SuppressionReason.hard_bounce
    assert suppressed(hooks.engine, B) is SuppressionReason.complaint
    assert suppressed(hooks.engine, C) is None

    too_big = b'{"signature": {}, "event-data": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert hooks.post("mailgun", too_big).status_code == 413

    later = MAILGUN_SAMPLE_TIME + timedelta(hours=1)
    with time_machine.travel(later, tick=True):  # a signed post replayed an hour on
        replayed = mailgun_body(D, stamp=stamp)
        assert hooks.post("mailgun", replayed).status_code == 401
    assert suppressed(hooks.engine, D) is None


def test_sendgrid_events_are_believed_only_with_their_ecdsa_signature(hooks: Hooks) -> None:
    events = [
        sendgrid_event(
            "bounce",
            A,
            reason="500 unknown recipient",
            status="5.0.0",
            type="bounce",
            **{"smtp-id": f"<{hooks.message_ids[A]}>"},
        ),
        sendgrid_event("dropped", B, reason="Bounced Address", status="5.0.0"),
        sendgrid_event("spamreport", C),
        sendgrid_event("deferred", D, response="400 try again later", attempt="5"),
        sendgrid_event("open", D, useragent="Mozilla/4.0", ip="255.255.255.255"),
    ]
    body = sendgrid_events(events)
    stamp = str(int(datetime.now(UTC).timestamp()))
    headers = hooks.sendgrid.headers(body, stamp)
    tampered = body.replace(b"spamreport", b"delivered!")
    assert hooks.post("sendgrid", tampered, **headers).status_code == 401
    other_key = SendGridKey.new().headers(body, stamp)
    assert hooks.post("sendgrid", body, **other_key).status_code == 401
    assert hooks.post("sendgrid", body).status_code == 401
    old = str(int((datetime.now(UTC) - timedelta(hours=2)).timestamp()))
    assert hooks.post("sendgrid", body, **hooks.sendgrid.headers(body, old)).status_code == 401
    assert hooks.bounces() == 0

    answer = hooks.post("sendgrid", body, **headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == {"recorded": 4, "ignored": 1}
    assert suppressed(hooks.engine, A) is SuppressionReason.hard_bounce
    assert suppressed(hooks.engine, B) is SuppressionReason.hard_bounce
    assert suppressed(hooks.engine, C) is SuppressionReason.complaint
    assert suppressed(hooks.engine, D) is None  # a deferral is kept, never counted


def test_a_provider_without_its_secret_is_not_found(engine: Engine, database_url: str) -> None:
    def make_app(url: str) -> FastAPI:
        return create_app(settings_for(database_url, 25, base_url=url), engine)

    with serve(make_app) as (url, _):
        for provider in ("ses", "postmark", "mailgun", "sendgrid", "other"):
            answer = httpx.post(f"{url}/webhooks/bounces/{provider}", content=b"{}")
            assert answer.status_code == 404, provider


BODIES = st.one_of(
    st.binary(max_size=2000),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner),
        max_leaves=30,
    ).map(lambda value: json.dumps(value).encode()),
)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES, provider=st.sampled_from(["ses", "postmark", "mailgun", "sendgrid"]))
def test_no_body_posted_to_any_provider_is_a_server_error(
    hooks: Hooks, body: bytes, provider: str
) -> None:
    """Random bodies, authenticated wherever the scheme allows it without the body's help
    (Postmark's password, SendGrid's signature over whatever is posted)."""
    headers: dict[str, str] = {}
    if provider == "postmark":
        headers["Authorization"] = postmark_auth()
    elif provider == "sendgrid":
        headers = hooks.sendgrid.headers(body, str(int(datetime.now(UTC).timestamp())))
    elif provider == "ses":
        headers = SNS_HEADERS
    answer = hooks.post(provider, body, **headers)
    assert answer.status_code in (200, 400, 401), (answer.status_code, answer.text)
