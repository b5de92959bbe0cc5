"""Builds the configured object storage (local directory or any S3-compatible server)."""

from __future__ import annotations

import logging

from backend.settings import Settings
from media.storage import S3Storage, Storage, storage_from_config

log = logging.getLogger("fieldcheck.storage")


def build_storage(settings: Settings) -> Storage:
    """The settings handed to media's one storage factory."""
    if settings.storage == "s3":
        return storage_from_config(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
        )
    return storage_from_config("local", root=settings.data_path / "storage")


async def prepare_storage(storage: Storage, *, cors_origins: tuple[str, ...] = ()) -> None:
    """Create the S3 bucket if missing and let the app's origins read photos from it (its CORS rule: the
    team's thumbnails are fetched from signed URLs); with no origins configured the rule is only checked.
    S3 being down must not stop the app: uploads wait in the spool."""
    if isinstance(storage, S3Storage):
        try:
            await storage.ensure_bucket()
        except Exception as error:  # boto3 raises many kinds; none may stop the app
            log.warning(
                "object storage not ready at start-up (%s); photos wait in the spool until it is", error
            )
            return
        try:
            allowed = await storage.ensure_cors(cors_origins, write=bool(cors_origins))
        except Exception as error:  # e.g. AccessDenied on PutBucketCors: the bucket's owner sets it
            log.warning(
                "could not set the bucket's CORS rule (%s); see docs/operations.md, Object storage", error
            )
            allowed = False
        if not allowed:
            log.warning(
                "bucket %s lets no browser GET its objects (CORS): the team's photos will not load in the app; "
                "allow GET from the app's origin (FIELDCHECK_S3_CORS_ORIGINS, docs/operations.md)",
                storage.bucket,
            )
