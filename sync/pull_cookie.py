"""Pull's cookie (DESIGN §6): opaque to the client, it holds per inspection the version and status the client
has. A cookie that cannot be read (another format, not base64, not JSON) is no cookie: the pull answers
``reset: true`` with a full snapshot."""

from __future__ import annotations

import base64
import binascii

import msgspec

COOKIE_FORMAT = 1


class _Cookie(msgspec.Struct):
    v: int
    i: dict[str, tuple[int, str]]


_cookie_decoder = msgspec.json.Decoder(_Cookie)
_enc = msgspec.json.Encoder()


def encode_cookie(state: dict[str, tuple[int, str]]) -> str:
    raw = _enc.encode(_Cookie(v=COOKIE_FORMAT, i=dict(sorted(state.items()))))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cookie(cookie: str) -> dict[str, tuple[int, str]] | None:
    try:
        raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        decoded = _cookie_decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    if decoded.v != COOKIE_FORMAT:
        return None
    return decoded.i
