"""Evidence flags in pull's ``photo/…`` value (DESIGN §7): ``{code, detail, relatedPhotoIds}``.

The backend stores a photo's flags as JSON on the photo row, each related photo with its inspection
(``[{"code", "detail", "related": [{"photoId", "inspectionId", …}]}]``); every reader is shown only the related
photo ids of inspections it may read, so a clinic sees the flag and its reason but never another facility's
photo ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgspec


def visible_flags(raw: str | None, can_read: Callable[[UUID], bool]) -> list[dict[str, Any]]:
    if not raw or raw == "[]":
        return []
    try:
        stored = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return []  # written only by the backend; unreadable means no flags to show, never a failed pull
    out: list[dict[str, Any]] = []
    for flag in stored if isinstance(stored, list) else []:
        if not isinstance(flag, dict):
            continue
        ids = [
            str(r["photoId"])
            for r in flag.get("related") or []
            if isinstance(r, dict) and _readable(r.get("inspectionId"), can_read)
        ]
        message = flag.get("message")  # {code, params}: what a person reads, said by the app in its language
        out.append(
            {
                "code": flag.get("code"),
                "detail": flag.get("detail", ""),
                "relatedPhotoIds": ids,
                "message": message if isinstance(message, dict) else None,
            }
        )
    return out


def _readable(inspection_id: Any, can_read: Callable[[UUID], bool]) -> bool:
    try:
        return can_read(UUID(str(inspection_id)))
    except ValueError:
        return False
