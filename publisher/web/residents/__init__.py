"""The residents' pages: subscribe, confirm, preferences, unsubscribe, privacy notice.

``install(app)`` adds their routes and the services they share (tokens, rate limits, the
confirmation mail sender, which sends through the app's outbox) to the app ``create_app`` builds.
"""

from __future__ import annotations

from fastapi import FastAPI

from publisher.config import Settings
from publisher.web.residents import preferences, subscribe
from publisher.web.residents.pages import ResidentServices


def install(app: FastAPI, settings: Settings) -> None:
    app.state.residents = ResidentServices.from_settings(settings, app.state.outbox)
    app.include_router(subscribe.router)
    app.include_router(preferences.router)
