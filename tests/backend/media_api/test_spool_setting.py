"""FIELDCHECK_UPLOAD_SPOOL: local by default; s3 only with S3 storage (the spool lives in its bucket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.app import create_app
from backend.media_api.services import upload_config
from backend.settings import Settings


def test_the_local_spool_is_the_default(tmp_path: Path) -> None:
    settings = Settings.from_env({"FIELDCHECK_DATA_DIR": str(tmp_path)})
    assert settings.upload_spool == "local"
    assert upload_config(settings).s3 is None


def test_an_s3_spool_needs_s3_storage(tmp_path: Path) -> None:
    settings = Settings.from_env({"FIELDCHECK_DATA_DIR": str(tmp_path), "FIELDCHECK_UPLOAD_SPOOL": "s3"})
    with pytest.raises(ValueError, match="FIELDCHECK_STORAGE=s3"):
        create_app(settings)
    s3 = Settings.from_env(
        {
            "FIELDCHECK_DATA_DIR": str(tmp_path),
            "FIELDCHECK_UPLOAD_SPOOL": "s3",
            "FIELDCHECK_STORAGE": "s3",
            "FIELDCHECK_S3_BUCKET": "photos",
        }
    )
    spool = upload_config(s3).s3
    assert spool is not None
    assert spool.bucket == "photos"
    assert upload_config(s3).s3 is spool  # one boto3 client per settings, not one per request
