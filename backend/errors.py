"""One error hierarchy, mapped once to RFC 9457 problem details."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any, ClassVar

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from backend.metrics import REQUEST_ID
from media.uploads import (
    ChunkChecksumMismatch,
    ContentRejected,
    DigestMismatch,
    OffsetMismatch,
    TooLarge,
    UploadBusy,
    UploadError,
    UploadNotFound,
)
from sync.api import (
    ClientGroupMismatch,
    ClientNotYours,
    MoveRefused,
    MutationGap,
    ProtocolError,
    SyncError,
    TooManyMutations,
)

log = logging.getLogger("fieldcheck.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self, detail: str, *, code: str | None = None, params: Mapping[str, Any] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail  # English, for logs and API clients; people read the code said with its params
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.params = dict(params or {})
        self.extra = extra


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Not signed in"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class RuleRefused(AppError):
    """The one rule refusal of every area: input the schema allows but a rule of the domain (across fields, or
    against stored state the caller can change) refuses: 422 with a code and its parameters. A schema error
    stays 400 (``BadRequest``, msgspec's decoding); pure modules raise their own subclass
    (``backend.review.decision.DecisionRefused``) rather than a refusal each caller converts."""

    status = 422
    code = "unprocessable"
    title = "Unprocessable content"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


def problem(
    status: int, code: str, title: str, detail: str, *, params: Mapping[str, Any] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    """Problem details; ``code`` with ``params`` is what a person reads (vocabulary ``problem_<code>``), and
    every plain extra field (``retryAfter``, ``expectedId``, …) is a parameter too."""
    fields = {_camel(k): v for k, v in extra.items()}
    said = {k: v for k, v in fields.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}
    body = {
        "type": f"https://fieldcheck.invalid/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "params": {**said, **(params or {})},
        **fields,
    }
    request_id = REQUEST_ID.get()
    if request_id:
        body["requestId"] = request_id  # the X-Request-ID of the answer, also in the server's log lines
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _app_error(_: Request[Any, Any, Any], exc: AppError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.title, exc.detail, params=exc.params, **exc.extra)


# The sync engine's refusals (it knows no HTTP): each class answers as one of ours, same code and detail.
_SYNC_ERRORS: dict[type[SyncError], type[AppError]] = {
    ProtocolError: BadRequest,
    ClientGroupMismatch: BadRequest,
    ClientNotYours: Forbidden,
    MutationGap: Conflict,
    MoveRefused: Conflict,
    TooManyMutations: PayloadTooLarge,
}


def _sync_error(request: Request[Any, Any, Any], exc: SyncError) -> Response[dict[str, Any]]:
    as_ours = _SYNC_ERRORS.get(type(exc), BadRequest)
    return _app_error(request, as_ours(exc.detail, code=exc.code, **exc.extra))


# The upload engine's errors (it knows no HTTP); 460 is tus's checksum mismatch.
_UPLOAD_STATUS: dict[type[UploadError], int] = {
    UploadNotFound: 404,
    OffsetMismatch: 409,
    UploadBusy: 409,
    ChunkChecksumMismatch: 460,
    DigestMismatch: 422,
    ContentRejected: 422,
    TooLarge: 413,
}
_UPLOAD_TITLES = {
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    460: "Checksum mismatch",
}


def upload_problem(exc: UploadError) -> Response[dict[str, Any]]:
    """An upload error as problem details (the tus headers are the controller's)."""
    status = _UPLOAD_STATUS.get(type(exc), 400)
    return problem(status, exc.code, _UPLOAD_TITLES.get(status, "Bad request"), exc.detail, **exc.extra)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    return problem(400, "invalid_input", "Invalid input", str(exc.detail), errors=exc.extra or [])


HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    code = HTTP_CODES.get(exc.status_code, "http_error")
    response = problem(exc.status_code, code, code.replace("_", " ").capitalize(), str(exc.detail))
    # e.g. Allow on a 405, as RFC 9110 requires
    response.headers.update(exc.headers or {})
    return response


def _integrity(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The database refused a write (unique or foreign key): the request conflicts with stored data.
    log.info("integrity error mapped to 409: %s", exc)
    return problem(409, "integrity_conflict", "Conflict", "the change conflicts with existing data")


def _unstorable_text(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # PostgreSQL text cannot hold NUL (\u0000): schema-valid text a storage rule refuses, so 422 like any rule
    log.info("unstorable text mapped to 422: %s", exc)
    return problem(422, "invalid_text", "Unprocessable content", "text may not contain NUL (\\u0000)")


def _recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    # msgspec refuses JSON nested deeper than it can follow with a RecursionError: bad input, not a fault
    if "deserializing" in str(exc):
        return problem(400, "too_deeply_nested", "Bad request", "the JSON document is nested too deeply")
    return _internal(request, exc)


def _internal(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "Internal error", "an unexpected error occurred; it was logged")


def exception_handlers() -> ExceptionHandlersMap:
    import asyncpg

    handlers: ExceptionHandlersMap = {
        AppError: _app_error,
        SyncError: _sync_error,
        ValidationException: _validation,
        NotAuthorizedException: _http,
        PermissionDeniedException: _http,
        NotFoundException: _http,
        HTTPException: _http,
        sqlite3.IntegrityError: _integrity,
        asyncpg.IntegrityConstraintViolationError: _integrity,
        asyncpg.CharacterNotInRepertoireError: _unstorable_text,
        asyncpg.UntranslatableCharacterError: _unstorable_text,
        RecursionError: _recursion,
        Exception: _internal,
    }
    return handlers
