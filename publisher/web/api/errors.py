"""JSON errors: a 422 names each problem's location, and says it in one line for the logs."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from publisher.web.api.schemas import Problem, Unprocessable

ERRORS: dict[int, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be read at all (not UTF-8)."},
    401: {
        "model": Problem,
        "description": "No token, or one unknown or revoked.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    403: {"model": Problem, "description": "The token's role may not do this."},
    404: {"model": Problem, "description": "Nothing with this id, slug or key."},
    409: {"model": Problem, "description": "No articles in the period: no edition, nothing sent."},
    413: {"model": Problem, "description": "The request body is over 2 MiB."},
    422: {"model": Unprocessable, "description": "Each problem with the request, by location."},
}
"""Every error the API answers, as the OpenAPI document describes it."""


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer ``codes``.

    Every route can answer 401 (no valid token) and 422 (a NUL in the URL, a bad parameter).
    """
    return {code: ERRORS[code] for code in sorted({401, 422, *codes})}


def problem_at(loc: list[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One problem in FastAPI's shape, for the checks our routes make beyond the schema."""
    return {"loc": loc, "msg": msg, "type": kind}


def unprocessable(problems: list[dict[str, Any]]) -> JSONResponse:
    """422 in FastAPI's shape, plus a one-line ``message`` a person can read in a log."""
    summary = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in problems
    )
    return JSONResponse({"detail": problems, "message": summary}, status_code=422)


async def validation_errors(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422s, in the same shape as ours."""
    assert isinstance(exc, RequestValidationError)
    # Without ``input`` and ``ctx``: a 2 MiB article is not echoed back, nor is anything
    # that cannot be JSON-encoded.
    problems = [
        problem_at(list(error["loc"]), error["msg"], error["type"]) for error in exc.errors()
    ]
    return unprocessable(problems)
