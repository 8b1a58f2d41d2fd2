"""The API the municipality's CMS calls: articles, topics, lists and editions, as JSON.

A sub-application mounted at ``/api`` with its own OpenAPI document (``/api/openapi.json``)
and docs page (``/api/docs``), JSON errors and bearer-token authentication. It is thin: every
route calls the same domain functions as the CLI. One module per concept: ``schemas`` (the
shapes), ``errors``, ``auth`` (bearer tokens), the routes by what
they serve (``articles``, ``topics``, ``lists``, ``editions``) and ``docs``.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.delivery.runner import Senders
from publisher.web.api import articles, editions, lists, topics
from publisher.web.api.auth import require_token
from publisher.web.api.dependencies import no_nul_in_url
from publisher.web.api.docs import install_docs
from publisher.web.api.errors import validation_errors
from publisher.web.body import BodyRule

DESCRIPTION = """\
The API the municipality's CMS pushes articles through, and reads topics, lists and digest
editions from.

**Authentication.** Every call needs `Authorization: Bearer TOKEN`, with a token made by
`publisher api-token create NAME` (shown once; `publisher api-token revoke NAME` ends it).
Without a valid token the answer is 401 with `WWW-Authenticate: Bearer`.
A token carries a role (`--role`, default `editor`): an editor's token pushes articles and
topics and reads everything; approving and sending an edition (`POST /editions`) needs an
`approver` or `admin` token, and is otherwise 403.

**Articles** are read and sanitised exactly as the JSON import reads them: scripts, event
handlers, styles and `javascript:` links are removed on the way in. A pushed article appears in
the feeds within a second and in the next digest of every list that carries its topics.
Posting again with the same `id` updates the article (its URL and feed id stay).
**DELETE withdraws**: the article leaves the site, the feeds and future digests, but the
record is kept (PUT with `"status": "published"` brings it back).

**Errors** are JSON: `{"detail": ...}`; a 422 lists each problem with its location
(`loc`, e.g. `["body", "title"]`) and message. Request bodies are limited to 2 MiB (413).

**Limits.** `offset` up to 1 000 000; dates and moments between 1900 and 2199; no NUL character
in any text, path or query; topic slugs of lowercase letters, digits and single hyphens. A
lookup by a number past any row's id is a 404.
"""


BODY_RULE = BodyRule(r"/api/.*", 2 * 1024 * 1024, json=True)
"""Request bodies of the API (413 beyond): a long article with tables fits many times.
The app's one :class:`~publisher.web.body.BodyLimit` enforces it."""


def create_api(settings: Settings, engine: Engine, senders: Senders) -> FastAPI:
    """The ``/api`` sub-application (mount it at ``/api``); every route needs a token."""
    api = FastAPI(
        title=f"{settings.site_name}: API",
        description=DESCRIPTION,
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.settings = settings
    api.state.engine = engine
    api.state.senders = senders
    for routes in (articles, topics, lists, editions):
        api.include_router(
            routes.router, dependencies=[Depends(require_token), Depends(no_nul_in_url)]
        )
    api.add_exception_handler(RequestValidationError, validation_errors)
    install_docs(api)
    return api
