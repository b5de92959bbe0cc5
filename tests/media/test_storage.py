"""Storage contract: the same tests against LocalStorage, moto and Ceph RGW (real HTTP servers)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import media.storage_s3 as storage_s3
from media.storage import (
    IntegrityError,
    InvalidKeyError,
    LocalStorage,
    ObjectNotFoundError,
    S3Storage,
    Storage,
    StorageUnavailableError,
    blob_key,
    sign_local_url,
    storage_from_config,
    validate_key,
    verify_local_signature,
)
from media.storage_s3 import cors_allows
from tests.media.s3servers import make_s3_storage, rgw_available, start_moto, start_rgw

SECRET = "local-url-secret-for-tests-0123456789"
needs_rgw = pytest.mark.skipif(
    not rgw_available(), reason="Ceph RGW not installed (scripts/s3/install-rgw.sh)"
)
BACKENDS = [
    "local",
    pytest.param("moto", marks=pytest.mark.s3),
    pytest.param("rgw", marks=[pytest.mark.s3, needs_rgw]),
]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Any]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rgw_server() -> Iterator[Any]:
    server = start_rgw(port=0)
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    kind = request.param
    if kind == "local":
        yield LocalStorage(tmp_path / "store", url_base="http://testserver/media", url_secret=SECRET)
        return
    server = request.getfixturevalue(f"{kind}_server")
    s3 = make_s3_storage(server)
    await s3.ensure_bucket()
    yield s3


def spool(tmp_path: Path, data: bytes, name: str = "spool.bin") -> tuple[Path, str]:
    p = tmp_path / name
    p.write_bytes(data)
    return p, hashlib.sha256(data).hexdigest()


async def test_put_exists_stat_read_delete(store: Storage, tmp_path: Path) -> None:
    data = os.urandom(2_500_000)  # several chunks
    path, sha = spool(tmp_path, data)
    key = blob_key(sha)
    assert not await store.exists(key)
    assert await store.stat(key) is None

    res = await store.put_file(key, path, sha, len(data), content_type="image/jpeg")
    assert (res.key, res.size, res.sha256_hex, res.already_present) == (key, len(data), sha, False)
    assert await store.exists(key)
    assert await store.stat(key) == len(data)
    assert await store.get_bytes(key) == data
    chunks = [c async for c in store.iter_bytes(key, chunk_size=1 << 20)]
    assert b"".join(chunks) == data
    assert len(chunks) >= 3

    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # absent is fine


async def test_reput_same_content_is_idempotent(store: Storage, tmp_path: Path) -> None:
    data = b"evidence photo bytes" * 1000
    path, sha = spool(tmp_path, data)
    key = blob_key(sha)
    first = await store.put_file(key, path, sha, len(data))
    second = await store.put_file(key, path, sha, len(data))
    assert not first.already_present
    assert second.already_present
    assert await store.get_bytes(key) == data


async def test_corrupted_spool_refused_and_nothing_stored(store: Storage, tmp_path: Path) -> None:
    good = os.urandom(100_000)
    declared_sha = hashlib.sha256(good).hexdigest()
    bad = bytearray(good)
    bad[5000] ^= 0xFF  # one flipped byte in the spool
    path, _ = spool(tmp_path, bytes(bad))
    key = blob_key(declared_sha)
    with pytest.raises(IntegrityError):
        await store.put_file(key, path, declared_sha, len(good))
    assert not await store.exists(key)

    truncated, _ = spool(tmp_path, good[:-10], "short.bin")
    with pytest.raises(IntegrityError):
        await store.put_file(key, truncated, declared_sha, len(good))
    assert not await store.exists(key)
    if isinstance(store, LocalStorage):  # no temp files left behind
        assert [p for p in store.root.rglob("*") if p.is_file()] == []


async def test_missing_key_read_raises(store: Storage) -> None:
    key = blob_key("0" * 64)
    with pytest.raises(ObjectNotFoundError):
        await store.get_bytes(key)


BAD_KEYS = [
    "../escape",
    "/etc/passwd",
    "blobs/../../etc/passwd",
    "a//b",
    ".hidden",
    "a/./b",
    "a\\b",
    "",
    "a/b/",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_path_like_keys_refused(store: Storage, tmp_path: Path, key: str) -> None:
    path, sha = spool(tmp_path, b"x")
    with pytest.raises(InvalidKeyError):
        await store.put_file(key, path, sha, 1)
    with pytest.raises(InvalidKeyError):
        await store.stat(key)
    with pytest.raises(InvalidKeyError):
        await store.delete(key)
    with pytest.raises(InvalidKeyError):
        await store.signed_url(key, 60)
    with pytest.raises(InvalidKeyError):
        await store.get_bytes(key)
    assert not (tmp_path.parent / "escape").exists()


async def test_signed_url_serves_the_bytes(store: Storage, tmp_path: Path) -> None:
    data = os.urandom(50_000)
    path, sha = spool(tmp_path, data)
    key = blob_key(sha)
    await store.put_file(key, path, sha, len(data))
    url = await store.signed_url(key, 300, filename="Küche 1.jpg", content_type="image/jpeg")
    assert url is not None
    if isinstance(store, LocalStorage):
        # The backend serves these; here we check what it will check.
        parts = urlsplit(url)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert parts.path == f"/media/{key}"
        assert verify_local_signature(key, q["exp"], q["sig"], SECRET, filename=q["fn"], content_type=q["ct"])
        assert q["fn"] == "Küche 1.jpg"
        return
    async with httpx.AsyncClient() as http:
        resp = await http.get(url)
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["content-type"] == "image/jpeg"
    assert "K%C3%BCche%201.jpg" in resp.headers["content-disposition"]


@pytest.mark.s3
@needs_rgw
async def test_rgw_refuses_expired_and_tampered_presigned_urls(rgw_server: Any, tmp_path: Path) -> None:
    store = make_s3_storage(rgw_server)
    await store.ensure_bucket()
    path, sha = spool(tmp_path, b"photo")
    key = blob_key(sha)
    await store.put_file(key, path, sha, 5)
    good = await store.signed_url(key, 300)
    expiring = await store.signed_url(key, 1)
    assert good is not None
    assert expiring is not None
    tampered = good.replace("X-Amz-Signature=", "X-Amz-Signature=0")[: len(good)]
    async with httpx.AsyncClient() as http:
        assert (await http.get(good)).status_code == 200
        assert (await http.get(tampered)).status_code == 403
        await asyncio.sleep(2.1)
        assert (await http.get(expiring)).status_code == 403


@pytest.mark.s3
async def test_moto_accepts_expired_presigned_urls(moto_server: Any, tmp_path: Path) -> None:
    """Documents a moto gap (docs/media.md): expiry is only really tested against RGW."""
    store = make_s3_storage(moto_server)
    await store.ensure_bucket()
    path, sha = spool(tmp_path, b"photo")
    key = blob_key(sha)
    await store.put_file(key, path, sha, 5)
    url = await store.signed_url(key, 1)
    assert url is not None
    await asyncio.sleep(2.1)
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200


def _corrupt_after_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spool changes between our hash and the upload (disk fault, concurrent writer)."""
    real = storage_s3._hash_file

    def hash_then_corrupt(path: Any, chunk_size: int) -> tuple[str, str, int]:
        result = real(path, chunk_size)
        with open(path, "r+b") as f:
            f.seek(10)
            b = f.read(1)
            f.seek(10)
            f.write(bytes([b[0] ^ 0xFF]))
        return result

    monkeypatch.setattr(storage_s3, "_hash_file", hash_then_corrupt)


@pytest.mark.s3
@needs_rgw
async def test_rgw_content_md5_catches_bytes_changed_in_flight(
    rgw_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_s3_storage(rgw_server)
    await store.ensure_bucket()
    data = os.urandom(10_000)
    path, sha = spool(tmp_path, data)
    _corrupt_after_hashing(monkeypatch)
    with pytest.raises(IntegrityError, match="BadDigest"):
        await store.put_file(blob_key(sha), path, sha, len(data))
    assert not await store.exists(blob_key(sha))


@pytest.mark.s3
async def test_moto_needs_readback_to_catch_bytes_changed_in_flight(
    moto_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto ignores Content-MD5, so only verify_readback catches this there.
    store = make_s3_storage(moto_server, verify_readback=True)
    await store.ensure_bucket()
    data = os.urandom(10_000)
    path, sha = spool(tmp_path, data)
    _corrupt_after_hashing(monkeypatch)
    with pytest.raises(IntegrityError, match="read back"):
        await store.put_file(blob_key(sha), path, sha, len(data))
    assert not await store.exists(blob_key(sha))


async def test_check_healthy(store: Storage) -> None:
    await store.check()


async def test_s3_unreachable_is_unavailable(tmp_path: Path) -> None:
    store = S3Storage("http://127.0.0.1:9", "us-east-1", "b", "k", "s", max_attempts=1, connect_timeout=1)
    with pytest.raises(StorageUnavailableError):
        await store.check()
    path, sha = spool(tmp_path, b"x")
    with pytest.raises(StorageUnavailableError):
        await store.put_file(blob_key(sha), path, sha, 1)


@pytest.mark.s3
@needs_rgw
async def test_rgw_gateway_outage_and_recovery(rgw_server: Any, tmp_path: Path) -> None:
    store = make_s3_storage(rgw_server, max_attempts=1, connect_timeout=1)
    await store.ensure_bucket()
    path, sha = spool(tmp_path, b"before and after the outage")
    rgw_server.stop_gateway()
    try:
        with pytest.raises(StorageUnavailableError):
            await store.put_file(blob_key(sha), path, sha, path.stat().st_size)
        with pytest.raises(StorageUnavailableError):
            await store.check()
    finally:
        # From a short-lived thread: the gateway must outlive the thread that started it.
        starter = threading.Thread(target=rgw_server.start_gateway)
        starter.start()
        await asyncio.to_thread(starter.join)
    await asyncio.sleep(0.3)
    assert rgw_server.gateway_running()
    res = await store.put_file(blob_key(sha), path, sha, path.stat().st_size)
    assert not res.already_present
    assert await store.stat(blob_key(sha)) == path.stat().st_size


# -- local only -----------------------------------------------------------------------------------------------
async def test_local_atomic_overwrite_repairs_a_damaged_blob(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    data = os.urandom(10_000)
    path, sha = spool(tmp_path, data)
    key = blob_key(sha)
    await store.put_file(key, path, sha, len(data))
    dest = store.path_for(key)
    dest.write_bytes(b"\0" * len(data))  # bit rot, same size
    res = await store.put_file(key, path, sha, len(data))
    assert not res.already_present
    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == [sha]


async def test_local_signed_url_needs_secret(tmp_path: Path) -> None:
    assert await LocalStorage(tmp_path).signed_url(blob_key("a" * 64), 60) is None


def test_local_signature_expiry_and_tamper() -> None:
    key = blob_key("b" * 64)
    exp = 2_000_000_000
    sig = sign_local_url(key, exp, SECRET, filename="a.jpg", content_type="image/jpeg")
    ok = {"filename": "a.jpg", "content_type": "image/jpeg"}
    assert verify_local_signature(key, exp, sig, SECRET, now=exp - 1, **ok)
    assert verify_local_signature(key, str(exp), sig, SECRET.encode(), now=exp - 1, **ok)
    assert not verify_local_signature(key, exp, sig, SECRET, now=exp, **ok)  # expired
    assert not verify_local_signature(key, exp + 3600, sig, SECRET, now=exp - 1, **ok)  # extended expiry
    assert not verify_local_signature(blob_key("c" * 64), exp, sig, SECRET, now=exp - 1, **ok)
    assert not verify_local_signature(key, exp, sig, SECRET + "x", now=exp - 1, **ok)
    assert not verify_local_signature(key, exp, sig[:-1] + "A", SECRET, now=exp - 1, **ok)
    assert not verify_local_signature(
        key, exp, sig, SECRET, now=exp - 1, filename="b.jpg", content_type="image/jpeg"
    )
    assert not verify_local_signature(key, exp, sig, SECRET, now=exp - 1)
    assert not verify_local_signature(key, "soon", sig, SECRET, now=exp - 1, **ok)
    assert not verify_local_signature("../x", exp, sig, SECRET, now=exp - 1, **ok)
    assert not verify_local_signature(key, exp, "", SECRET, now=exp - 1, **ok)
    with pytest.raises(ValueError, match="16 bytes"):
        sign_local_url(key, exp, "short")


def test_keys_and_factory(tmp_path: Path) -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert blob_key(sha) == f"blobs/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    with pytest.raises(ValueError, match="sha256"):
        blob_key(sha.upper())
    with pytest.raises(ValueError, match="sha256"):
        blob_key("../../etc")
    assert validate_key("photos/thumb/abc.jpg") == "photos/thumb/abc.jpg"
    local = storage_from_config("local", root=tmp_path)
    assert isinstance(local, LocalStorage)
    assert isinstance(local, Storage)
    s3 = storage_from_config(
        "s3", endpoint_url="http://x", region="us-east-1", bucket="b", access_key="k", secret_key="s"
    )
    assert isinstance(s3, S3Storage)
    assert isinstance(s3, Storage)
    assert "s'" not in repr(s3)
    with pytest.raises(ValueError, match="unknown storage kind"):
        storage_from_config("ftp")


@pytest.mark.s3
@needs_rgw
async def test_the_buckets_cors_rule_is_added_beside_the_owners_own(rgw_server: Any) -> None:
    """The app adds its GET rule for the team's photos (backend/storage.py at start) and keeps the owner's."""
    store = make_s3_storage(rgw_server)
    await store.ensure_bucket()
    assert await store.ensure_cors((), write=False) is False  # a new bucket: no rule at all
    owners = {"ID": "uploads", "AllowedMethods": ["PUT"], "AllowedOrigins": ["https://upload.example.org"]}
    store.client().put_bucket_cors(Bucket=store.bucket, CORSConfiguration={"CORSRules": [owners]})
    origins = ("https://app.example.org",)
    assert await store.ensure_cors(origins, write=False) is False  # only checked: nothing written
    assert await store.ensure_cors(origins) is True
    rules = store.client().get_bucket_cors(Bucket=store.bucket)["CORSRules"]
    assert sorted(r.get("ID", "") for r in rules) == ["fieldcheck-photos", "uploads"]
    assert await store.ensure_cors(origins, write=False) is True  # found at the next start
    assert await store.ensure_cors(("https://other.example.org",), write=False) is False


def test_cors_rules_are_read_per_origin() -> None:
    get_any = {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}
    get_one = {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["https://a.example"]}
    put_any = {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"]}
    assert cors_allows([get_any], ("https://a.example", "https://b.example"))
    assert cors_allows([get_one], ("https://a.example",))
    assert not cors_allows([get_one], ("https://a.example", "https://b.example"))
    assert not cors_allows([put_any], ("https://a.example",))
    assert cors_allows([get_one], ())
    assert not cors_allows([put_any], ())
