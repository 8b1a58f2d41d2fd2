"""The CMS API fuzzed from its OpenAPI document: no input gets a 500, every status is documented.

Schemathesis reads ``/api/openapi.json`` from the real app under uvicorn and runs all its phases
against it with a real token and a database holding a list and articles: the schema's examples,
the coverage of each field's edges, random fuzzing, and stateful sequences that follow the
links between operations (POST an article, then read, replace and withdraw it). The number of
examples is bounded so the suite stays quick; ``CI=true`` selects the smaller profile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from publisher.db import session_scope
from publisher.staff.api_tokens import create_token
from publisher.staff.models import Role
from publisher.subscribers.lists import create_list
from tests.feeds.helpers import add_articles, draft
from tests.web.conftest import LiveSite

hypothesis.settings.register_profile(
    "api-fuzz",
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
    suppress_health_check=list(HealthCheck),
    database=None,
)
hypothesis.settings.register_profile(
    "api-fuzz-ci", hypothesis.settings.get_profile("api-fuzz"), max_examples=8
)
PROFILE = hypothesis.settings.get_profile(
    "api-fuzz-ci" if os.environ.get("CI") == "true" else "api-fuzz"
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(live_site: LiveSite, engine: Engine) -> Iterator[Any]:
    """The served OpenAPI document, with a real token, articles, two lists and an edition, so
    that lookups can succeed and the links between operations lead somewhere."""
    with session_scope(engine) as session:
        _, secret = create_token(session, "cms", Role.approver)
    add_articles(engine, *(draft(n, topics=("promet",) if n % 2 else ()) for n in range(1, 6)))
    with session_scope(engine) as session:
        create_list(session, "tedenske-novice", "Tedenske novice")
        create_list(session, "promet", "Promet", topics=["promet"])
    approved = httpx.post(
        live_site.url + "/api/editions",
        json={"list": "tedenske-novice", "period": "2025-W02", "send": False},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert approved.status_code == 202, approved.text
    schema = schemathesis.openapi.from_url(live_site.url + "/api/openapi.json")
    schema.config.update(
        base_url=live_site.url + "/api", headers={"Authorization": f"Bearer {secret}"}
    )
    schema.config.generation.update(max_examples=PROFILE.max_examples)
    yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4 renames the test after each operation through ``node._nodeid``, which
    pytest 9.2 no longer has; giving it one keeps its reporting working."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@hypothesis.settings(PROFILE)
def test_no_input_gets_a_server_error_and_every_status_is_documented(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


def test_sequences_of_calls_following_the_links_never_fail(api_schema: Any) -> None:
    machine = api_schema.as_state_machine()

    class Checked(machine):  # type: ignore[misc, valid-type]
        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Checked.run(settings=hypothesis.settings(PROFILE, stateful_step_count=6))


# --- the site's own pages: a small sweep of odd path segments ---------------------------------

ODD_SEGMENTS = ["%00", "a%00b", "99999999999999999999", "9223372036854775808", "%ff%fe", "x" * 2000]
PAGES = [
    "/articles/{}",
    "/topics/{}",
    "/archive/{}/{}",
    "/archive/novice/{}",
    "/archive/novice/{}/message.html",
    "/archive/novice/{}/message.txt",
    "/feeds/archive/{}/rss.xml",
    "/feeds/topics/{}/atom.xml",
    "/feeds/topics/promet/archive/{}/rss.xml",
    "/?page={}",
    "/archive?page={}",
]


def test_odd_path_segments_on_the_sites_pages_are_not_found_never_a_server_error(
    live_site: LiveSite, engine: Engine
) -> None:
    add_articles(engine, *(draft(n, topics=("promet",)) for n in range(1, 4)))
    with session_scope(engine) as session:
        create_list(session, "novice", "Novice")
    answers: dict[str, int] = {}
    with httpx.Client(base_url=live_site.url) as client:
        for page in PAGES:
            for segment in ODD_SEGMENTS:
                path = page.format(segment, segment)
                answers[path] = client.get(path).status_code
    assert {path: code for path, code in answers.items() if code >= 500} == {}
    assert answers["/articles/99999999999999999999"] == 404
    assert answers["/archive/novice/a%00b"] == 404
