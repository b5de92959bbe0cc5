"""Builds the configured object storage (local directory or any S3-compatible server)."""

from __future__ import annotations

from backend.settings import Settings
from media.storage import LocalStorage, S3Storage, Storage


def build_storage(settings: Settings) -> Storage:
    if settings.storage == "s3":
        return S3Storage(
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
        )
    return LocalStorage(settings.data_path / "storage")
