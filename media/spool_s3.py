"""The upload spool in S3 (``FIELDCHECK_UPLOAD_SPOOL=s3``): an unfinished upload is an S3 multipart upload.

As tusd's s3store: every S3 part but the last must be at least 5 MiB, so chunks are gathered in a *tail*
object (``uploads/<id>.tail``) until they make a part; the last part may be smaller. The database row holds the
multipart upload id, the parts (number, ETag, size) and the tail's length: it is the source of truth, so a tail
object longer than the row says (written before a crash, not committed) is read only up to that length, and a
part uploaded but not committed is uploaded again under the same number. The whole file becomes
``uploads/<id>`` at CompleteMultipartUpload, is read back once for its sha256 and the content check, and is
copied server-side to its content-addressed key.

Every method is blocking (boto3) and meant for a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

from media.storage_s3 import S3Storage

PART_MIN_BYTES = 5 * 1024 * 1024
PREFIX = "uploads/"


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _code(exc: Exception) -> str:
    response: dict[str, Any] = dict(getattr(exc, "response", None) or {})
    return str((response.get("Error") or {}).get("Code") or "")


class S3Spool:
    """Raw multipart calls on the storage bucket (the same credentials and client as media storage)."""

    def __init__(self, storage: S3Storage) -> None:
        self.storage = storage
        self.bucket = storage.bucket

    def _c(self) -> Any:
        return self.storage.client()

    @staticmethod
    def object_key(upload_id: str) -> str:
        return f"{PREFIX}{upload_id}"

    @staticmethod
    def tail_key(upload_id: str) -> str:
        return f"{PREFIX}{upload_id}.tail"

    def start(self, upload_id: str) -> str:
        answer = self._c().create_multipart_upload(Bucket=self.bucket, Key=self.object_key(upload_id))
        return str(answer["UploadId"])

    def put_part(self, upload_id: str, multipart_id: str, number: int, data: bytes) -> str:
        answer = self._c().upload_part(
            Bucket=self.bucket,
            Key=self.object_key(upload_id),
            UploadId=multipart_id,
            PartNumber=number,
            Body=data,
            ContentLength=len(data),
            ContentMD5=_md5(data),
        )
        return str(answer["ETag"])

    def put_tail(self, upload_id: str, data: bytes) -> None:
        self._c().put_object(
            Bucket=self.bucket,
            Key=self.tail_key(upload_id),
            Body=data,
            ContentLength=len(data),
            ContentMD5=_md5(data),
        )

    def read_tail(self, upload_id: str, size: int) -> bytes:
        """The first ``size`` bytes of the tail (all the row vouches for)."""
        if size == 0:
            return b""
        answer = self._c().get_object(
            Bucket=self.bucket, Key=self.tail_key(upload_id), Range=f"bytes=0-{size - 1}"
        )
        data: bytes = answer["Body"].read()
        if len(data) != size:
            raise OSError(f"upload {upload_id}: the tail has {len(data)} bytes, the session says {size}")
        return data

    def complete(self, upload_id: str, multipart_id: str, parts: list[dict[str, Any]], size: int) -> None:
        """CompleteMultipartUpload; done already (a crash after it) when the object has the full size."""
        from botocore.exceptions import ClientError

        try:
            self._c().complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.object_key(upload_id),
                UploadId=multipart_id,
                MultipartUpload={"Parts": [{"PartNumber": p["n"], "ETag": p["etag"]} for p in parts]},
            )
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload" or self.size(self.object_key(upload_id)) != size:
                raise

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self._c().head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def download(self, upload_id: str, target: Path) -> tuple[str, int]:
        """The whole object into ``target``, hashed on the way: (sha256 hex, bytes)."""
        answer = self._c().get_object(Bucket=self.bucket, Key=self.object_key(upload_id))
        digest, count = hashlib.sha256(), 0
        with open(target, "wb") as handle:
            for piece in answer["Body"].iter_chunks(1024 * 1024):
                digest.update(piece)
                handle.write(piece)
                count += len(piece)
        return digest.hexdigest(), count

    def copy_to(self, upload_id: str, key: str, sha256_hex: str, content_type: str) -> None:
        """Server-side copy to the blob's key with the metadata media storage writes (sha256, type)."""
        self._c().copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": self.object_key(upload_id)},
            MetadataDirective="REPLACE",
            Metadata={"sha256": sha256_hex},
            ContentType=content_type,
        )

    def idle_sessions(self, cutoff_ms: int) -> dict[uuid.UUID, list[str]]:
        """Upload id -> its objects (assembled object, tail) last written at or before ``cutoff_ms``."""
        found: dict[uuid.UUID, list[str]] = {}
        pages = self._c().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=PREFIX)
        for page in pages:
            for item in page.get("Contents", []):
                key = str(item["Key"])
                try:
                    upload_id = uuid.UUID(key[len(PREFIX) :].removesuffix(".tail"))
                except ValueError:
                    continue  # not a session's object
                if item["LastModified"].timestamp() * 1000 <= cutoff_ms:
                    found.setdefault(upload_id, []).append(key)
        return found

    def delete_keys(self, keys: list[str]) -> None:
        c = self._c()
        for key in keys:
            c.delete_object(Bucket=self.bucket, Key=key)

    def discard(self, upload_id: str, multipart_id: str | None) -> None:
        """Abort the multipart upload (if any) and delete the tail and the assembled object."""
        from botocore.exceptions import ClientError

        c = self._c()
        if multipart_id:
            try:
                c.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.object_key(upload_id), UploadId=multipart_id
                )
            except ClientError as exc:
                if _code(exc) != "NoSuchUpload":
                    raise
        c.delete_object(Bucket=self.bucket, Key=self.tail_key(upload_id))
        c.delete_object(Bucket=self.bucket, Key=self.object_key(upload_id))
