"""HTTP for evidence photos: tus 1.0 subset uploads, the inspection receipt, photo variants, signed media.

Only translation here; rules live in media.uploads (bytes) and backend.media_api.services (who, links).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

import aiofiles
from litestar import Controller, Request, Response, get, head, patch, post
from litestar.datastructures import State
from litestar.exceptions import InternalServerException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from backend.errors import BadRequest, NotFound, problem, upload_problem
from backend.guards import AuthUser, current_user, requires_role
from backend.media_api import services
from backend.media_api.schemas import (
    VARIANTS,
    CreateUploadRequest,
    Receipt,
    SignedUrl,
    UploadComplete,
    UploadCreated,
)
from backend.metrics import Metrics
from backend.openapi_contract import CHUNK_BODY, problem_responses
from backend.settings import Settings
from media import uploads
from media.blob_jobs import derivative_key
from media.documents import has_page_image
from media.storage import (
    InvalidKeyError,
    LocalStorage,
    ObjectNotFoundError,
    Storage,
    sign_local_url,
    validate_key,
    verify_local_signature,
)

AuthRequest = Request[AuthUser, str, State]
EVERY_ROLE = requires_role("admin", "office", "inspector", "clinic")
TUS_VERSION = "1.0.0"
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"
SIGNED_PREFIX = "/api/media/signed"


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _upload_problem(exc: uploads.UploadError) -> Response[Any]:
    response = upload_problem(exc)
    response.headers.update(_tus_headers())
    if "offset" in exc.extra:
        response.headers["Upload-Offset"] = str(exc.extra["offset"])
    return response


def _settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def _storage(state: State) -> Storage:
    storage: Storage = state.storage
    return storage


async def _body(request: AuthRequest) -> AsyncIterator[bytes]:
    """The PATCH body piece by piece; a cut connection becomes ClientGone (the bytes so far are kept)."""
    try:
        async for piece in request.stream():
            yield piece
    except InternalServerException as exc:  # Litestar's "client disconnected prematurely"
        raise uploads.ClientGone(str(exc)) from exc


class UploadController(Controller):
    path = "/api/uploads"
    tags = ["media"]
    guards = [EVERY_ROLE]

    @post("/", operation_id="createUpload", status_code=HTTP_201_CREATED)
    async def create_upload(
        self, data: JSONBody[CreateUploadRequest], request: AuthRequest, state: State
    ) -> Response[Any]:
        try:
            created = await services.start_upload(
                user=current_user(request), data=data, engine=state.engine, settings=_settings(state)
            )
        except uploads.UploadError as exc:
            return _upload_problem(exc)
        if created.complete:
            return Response(UploadComplete(), status_code=HTTP_200_OK, headers=_tus_headers())
        assert created.upload_id is not None
        url = f"{self.path}/{created.upload_id}"
        body = UploadCreated(
            upload_url=url,
            offset=created.offset,
            expires_at=uploads.utc_from_ms(created.expires_at_ms),
        )
        headers = _tus_headers(Location=url, **{"Upload-Offset": str(created.offset)})
        return Response(body, status_code=HTTP_201_CREATED, headers=headers)

    @head("/{upload_id:uuid}", operation_id="uploadOffset")
    async def upload_offset(
        self, upload_id: FromPath[UUID], request: AuthRequest, state: State
    ) -> Response[None]:
        config = services.upload_config(_settings(state))
        try:
            status = await uploads.get_upload(config, upload_id, current_user(request).id)
        except uploads.UploadNotFound:
            return Response(None, status_code=404, headers=_tus_headers())
        headers = _tus_headers(
            **{
                "Upload-Offset": str(status.offset),
                "Upload-Length": str(status.size),
                "Upload-Expires": _http_date(uploads.utc_from_ms(status.expires_at_ms)),
            }
        )
        return Response(None, status_code=HTTP_200_OK, headers=headers)

    @patch(
        "/{upload_id:uuid}",
        operation_id="appendUpload",
        operation_class=CHUNK_BODY,
        # every answer is built below (204 on success); Litestar refuses a 204 default with a Response type
        status_code=HTTP_200_OK,
        # a chunk may be up to 4 MiB; the app-wide limit (2 MiB) stays for JSON bodies
        request_max_body_size=uploads.MAX_CHUNK_BYTES,
    )
    async def append(self, upload_id: FromPath[UUID], request: AuthRequest, state: State) -> Response[Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != OFFSET_MEDIA_TYPE:
            raise BadRequest(f"Content-Type must be {OFFSET_MEDIA_TYPE}", code="unsupported_media_type")
        offset_header = request.headers.get("upload-offset")
        if offset_header is None or not offset_header.isdigit():
            raise BadRequest("Upload-Offset must be a non-negative integer", code="invalid_offset")
        length_header = request.headers.get("content-length")
        settings = _settings(state)
        try:
            checksum = uploads.parse_checksum(request.headers.get("upload-checksum"))
            result = await uploads.append_chunk(
                engine=state.engine,
                config=services.upload_config(settings),
                validator=services.validator(settings),
                upload_id=upload_id,
                user_id=current_user(request).id,
                offset=int(offset_header),
                body=_body(request),
                content_length=int(length_header) if length_header and length_header.isdigit() else None,
                checksum=checksum,
            )
        except uploads.UploadError as exc:
            return _upload_problem(exc)
        except uploads.ClientGone:
            # nobody is listening any more; the bytes that arrived are fsynced and counted
            return Response(None, status_code=400, headers=_tus_headers())
        headers = _tus_headers(**{"Upload-Offset": str(result.offset)})
        metrics: Metrics = state.metrics
        metrics.upload_bytes.inc(max(0, result.offset - int(offset_header)))
        if result.complete:
            metrics.uploads_completed.inc()
            assert result.sha256 is not None
            # (the sender became a holder of these bytes in the commit that ended the session)
            await services.after_blob_received(result.sha256)
            headers["Upload-State"] = "received" if result.blob_state == "spooled" else str(result.blob_state)
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=headers)


class ReceiptController(Controller):
    path = "/api/inspections"
    tags = ["media"]
    guards = [EVERY_ROLE]

    @get("/{inspection_id:uuid}/receipt", operation_id="getInspectionReceipt")
    async def get_receipt(self, inspection_id: FromPath[UUID], request: AuthRequest, state: State) -> Receipt:
        return await services.receipt(
            user=current_user(request),
            inspection_id=inspection_id,
            config=services.upload_config(_settings(state)),
        )


class PhotoController(Controller):
    path = "/api/photos"
    tags = ["media"]
    guards = [EVERY_ROLE]

    @get("/{photo_id:uuid}/{variant:str}", operation_id="getPhotoVariant")
    async def get_variant(
        self,
        photo_id: FromPath[UUID],
        variant: FromPath[str],
        request: AuthRequest,
        state: State,
    ) -> Response[Any]:
        """``original`` is the evidence byte for byte; ``thumb``/``preview`` are EXIF-free JPEGs.

        Answers a 307 to a short-lived signed URL (presigned GET on S3, HMAC on local storage), or with
        ``?as=json`` the URL itself (``{url, expiresAt}``) for ``<img src>``. An original still in the
        spool (storage not reached yet) is served directly.
        """
        if variant not in VARIANTS:
            raise NotFound(
                f"unknown variant {variant!r}; use thumb, preview or original", code="unknown_variant"
            )
        _, blob = await services.readable_photo(user=current_user(request), photo_id=photo_id)
        if blob is None or blob["state"] == "rejected":
            raise NotFound("the server has no bytes for this photo", code="not_uploaded")
        storage = _storage(state)
        if variant == "original":
            if blob["state"] != "stored":
                path = services.spool_file(blob)
                if path is None:
                    raise NotFound("the original is not available yet", code="not_uploaded")
                return Stream(
                    _file_chunks(str(path)),
                    media_type=blob["mime"],
                    headers={"Cache-Control": "private, no-store", "Content-Length": str(blob["size"])},
                )
            key, content_type = blob["storage_key"], blob["mime"]
        else:
            if not has_page_image(blob["mime"]):
                raise NotFound(
                    f"a {blob['mime']} document has no {variant}; show its type icon", code="no_variant"
                )
            if not blob["derived"]:
                raise NotFound(f"the {variant} is not made yet; try again shortly", code="variant_not_ready")
            key, content_type = derivative_key(blob["sha256"], variant), "image/jpeg"
        ttl = services.SIGNED_URL_TTL_SECONDS
        url = await storage.signed_url(key, ttl, content_type=content_type)
        if url is None:
            url = local_signed_url(key, state, ttl, content_type)
        if request.query_params.get("as") == "json":
            return Response(
                SignedUrl(url=url, expires_at=datetime.fromtimestamp(services.expires_at(ttl), UTC)),
                headers={"Cache-Control": "private, no-store"},
            )
        return Redirect(url, status_code=307, headers={"Cache-Control": "private, no-store"})


def local_signed_url(key: str, state: State, ttl: int, content_type: str) -> str:
    expires = services.expires_at(ttl)
    secret = services.media_url_secret(state.secret_key)
    signature = sign_local_url(key, expires, secret, content_type=content_type)
    query = urlencode({"exp": str(expires), "ct": content_type, "sig": signature})
    return f"{SIGNED_PREFIX}/{quote(key)}?{query}"


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    async with aiofiles.open(path, "rb") as handle:
        while chunk := await handle.read(1024 * 1024):
            yield chunk


async def _storage_chunks(storage: Storage, key: str) -> AsyncIterator[bytes]:
    async for chunk in storage.iter_bytes(key):
        yield chunk


@get(
    f"{SIGNED_PREFIX}/{{key:path}}",
    operation_id="getSignedMedia",
    tags=["media"],
    security=[],
    responses=problem_responses(403),  # a bad or expired signature
)
async def signed_media(
    key: FromPath[str],
    state: State,
    exp: FromQuery[str] = "",
    sig: FromQuery[str] = "",
    ct: FromQuery[str] = "",
) -> Response[Any]:
    """Public (no bearer token): the HMAC over key, expiry and content type is the permission."""
    key = key.lstrip("/")
    storage = _storage(state)
    try:
        validate_key(key)
    except InvalidKeyError:
        raise NotFound("no such media", code="not_found") from None
    secret = services.media_url_secret(state.secret_key)
    if not isinstance(storage, LocalStorage) or not verify_local_signature(
        key, exp, sig, secret, content_type=ct or None
    ):
        return problem(403, "bad_signature", "Not allowed", "the link is invalid or has expired")
    size = await storage.stat(key)
    if size is None:
        raise NotFound("no such media", code="not_found")
    try:
        iterator = _storage_chunks(storage, key)
    except ObjectNotFoundError:
        raise NotFound("no such media", code="not_found") from None
    return Stream(
        iterator,
        media_type=ct or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=60", "Content-Length": str(size)},
    )


def _http_date(value: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(value.astimezone(UTC), usegmt=True)


MEDIA_ROUTES: list[ControllerRouterHandler] = [
    UploadController,
    ReceiptController,
    PhotoController,
    signed_media,
]
