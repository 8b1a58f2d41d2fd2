"""JSON errors: a 422 names each problem's location, and says it in one line for the logs."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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
