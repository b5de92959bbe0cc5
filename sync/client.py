"""A reference sync client (used by the tests, the benchmarks and load tools).

It keeps what a device keeps: the confirmed server state (``store``, keyed like the patch keys), a queue of
pending mutations with per-client increasing ids, and the pull cookie. Edits are optimistic: :meth:`view`
is the store with the pending mutations replayed on top (a rebase, redone after every pull). A mutation
leaves the queue only when a pull reports ``lastMutationIds[clientId]`` at or past it; a push whose answer
was lost is simply sent again (the server skips what it already has). Base versions are taken when the edit
is made and never refreshed: an edit made without seeing a concurrent change must meet it as a conflict.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

import msgspec

from sync.mutations import (
    AddNote,
    AddNoteArgs,
    AddPhoto,
    AddPhotoArgs,
    AttachImprovementPhoto,
    AttachImprovementPhotoArgs,
    CreateImprovement,
    CreateImprovementArgs,
    DeleteNote,
    DeleteNoteArgs,
    EditNote,
    EditNoteArgs,
    Field,
    ImprovementField,
    ImprovementKind,
    ImprovementStatus,
    Mutation,
    MutationResult,
    RemovePhoto,
    RemovePhotoArgs,
    ResolveConflict,
    ResolveConflictArgs,
    SetAnswer,
    SetAnswerArgs,
    SetImprovementField,
    SetImprovementFieldArgs,
    SetImprovementStatus,
    SetImprovementStatusArgs,
    SetPhotoCaption,
    SetPhotoCaptionArgs,
    SubmitInspection,
    SubmitInspectionArgs,
    Value,
)
from sync.protocol import (
    PROTOCOL_VERSION,
    DelOp,
    OpinionValue,
    PullRequest,
    PullResponse,
    PushBody,
    PushResponse,
)
from sync.push.mutators import REGISTRY
from sync.push.mutators.answers import answer_key


class TransportError(Exception):
    """The request or its answer was lost (no signal, timeout): try again later."""


class SyncHttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:500]!r}")
        self.status = status
        self.body = body


class Transport(Protocol):
    async def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...


class HttpxTransport:
    """Posts with an ``httpx.AsyncClient`` (any base URL, in-process ASGI or a real server)."""

    def __init__(self, http: Any, headers: Mapping[str, str]) -> None:
        self.http = http
        self.headers = {**headers, "content-type": "application/json"}

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        import httpx

        try:
            response = await self.http.post(path, content=body, headers=self.headers)
        except httpx.TransportError as exc:
            raise TransportError(str(exc)) from exc
        return response.status_code, response.content


class Hlc:
    """A hybrid logical clock: wall milliseconds, a counter, the node. For audit and display only."""

    def __init__(self, node: str) -> None:
        self.node = node[:8]
        self.millis = 0
        self.counter = 0

    def tick(self) -> str:
        now = int(time.time() * 1000)
        if now > self.millis:
            self.millis, self.counter = now, 0
        else:
            self.counter += 1
        return f"{self.millis:013d}-{self.counter:04d}-{self.node}"


_push_response = msgspec.json.Decoder(PushResponse)
_pull_response = msgspec.json.Decoder(PullResponse)
_enc = msgspec.json.Encoder()


class SyncClient:
    def __init__(
        self,
        transport: Transport,
        *,
        client_group_id: str | None = None,
        client_id: str | None = None,
        max_batch: int = 100,
    ) -> None:
        self.transport = transport
        self.client_group_id = client_group_id or str(uuid.uuid4())
        self.client_id = client_id or str(uuid.uuid4())
        self.max_batch = max_batch
        self.hlc = Hlc(self.client_id)
        self.store: dict[str, dict[str, Any]] = {}
        self.cookie: str | None = None
        self.pending: list[Mutation] = []
        self.next_id = 1
        # the highest mutation id the server is known to have consumed
        self.acked = 0
        self.results: dict[int, MutationResult] = {}
        self.conflicts: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------------------------ edits

    def _queue(self, mutation: Mutation) -> int:
        self.pending.append(mutation)
        self.next_id += 1
        return mutation.id

    def _new(self) -> tuple[int, str]:
        return self.next_id, self.hlc.tick()

    def set_answer(
        self, inspection_id: UUID, item_code: str, field: Field, value: Value, base_version: int | None = None
    ) -> int:
        if base_version is None:
            base_version = int(
                self.store.get(answer_key(inspection_id, item_code, field), {}).get("version", 0)
            )
        mid, hlc = self._new()
        args = SetAnswerArgs(
            inspection_id=inspection_id,
            item_code=item_code,
            field=field,
            value=value,
            base_version=base_version,
        )
        return self._queue(SetAnswer(id=mid, hlc=hlc, args=args))

    def add_note(self, inspection_id: UUID, item_code: str, text: str, note_id: UUID | None = None) -> UUID:
        note_id = note_id or uuid.uuid4()
        mid, hlc = self._new()
        args = AddNoteArgs(inspection_id=inspection_id, item_code=item_code, note_id=note_id, text=text)
        self._queue(AddNote(id=mid, hlc=hlc, args=args))
        return note_id

    def edit_note(self, note_id: UUID, text: str) -> int:
        mid, hlc = self._new()
        return self._queue(EditNote(id=mid, hlc=hlc, args=EditNoteArgs(note_id=note_id, text=text)))

    def delete_note(self, note_id: UUID) -> int:
        mid, hlc = self._new()
        return self._queue(DeleteNote(id=mid, hlc=hlc, args=DeleteNoteArgs(note_id=note_id)))

    def add_photo(
        self,
        inspection_id: UUID,
        item_code: str,
        sha256: str,
        size: int,
        mime: str = "image/jpeg",
        photo_id: UUID | None = None,
        requirement_id: str | None = None,
        taken_at: str | None = None,
    ) -> UUID:
        photo_id = photo_id or uuid.uuid4()
        mid, hlc = self._new()
        args = AddPhotoArgs(
            inspection_id=inspection_id,
            item_code=item_code,
            photo_id=photo_id,
            sha256=sha256,
            size=size,
            mime=mime,
            requirement_id=requirement_id,
            taken_at=taken_at,
        )
        self._queue(AddPhoto(id=mid, hlc=hlc, args=args))
        return photo_id

    def remove_photo(self, photo_id: UUID) -> int:
        seen = self.store.get(f"photo/{photo_id}")
        mid, hlc = self._new()
        args = RemovePhotoArgs(photo_id=photo_id, base_version=None if seen is None else int(seen["version"]))
        return self._queue(RemovePhoto(id=mid, hlc=hlc, args=args))

    def set_photo_caption(self, photo_id: UUID, caption: str) -> int:
        seen = self.store.get(f"photo/{photo_id}", {})
        mid, hlc = self._new()
        args = SetPhotoCaptionArgs(
            photo_id=photo_id, caption=caption, base_version=int(seen.get("captionVersion", 0))
        )
        return self._queue(SetPhotoCaption(id=mid, hlc=hlc, args=args))

    def resolve_conflict(self, conflict_id: UUID | str, value: Value) -> int:
        seen = self.store.get(f"conflict/{conflict_id}", {})
        mid, hlc = self._new()
        args = ResolveConflictArgs(
            conflict_id=UUID(str(conflict_id)), value=value, base_version=int(seen.get("version", 0))
        )
        return self._queue(ResolveConflict(id=mid, hlc=hlc, args=args))

    def submit_inspection(self, inspection_id: UUID) -> int:
        mid, hlc = self._new()
        return self._queue(
            SubmitInspection(id=mid, hlc=hlc, args=SubmitInspectionArgs(inspection_id=inspection_id))
        )

    def create_improvement(
        self,
        inspection_id: UUID,
        item_code: str,
        gap: str,
        kind: ImprovementKind,
        *,
        owner: str = "",
        due_date: str | None = None,
        requirement_id: str | None = None,
        improvement_id: UUID | None = None,
    ) -> UUID:
        improvement_id = improvement_id or uuid.uuid4()
        mid, hlc = self._new()
        args = CreateImprovementArgs(
            inspection_id=inspection_id,
            improvement_id=improvement_id,
            item_code=item_code,
            gap=gap,
            kind=kind,
            owner=owner,
            due_date=due_date,
            requirement_id=requirement_id,
        )
        self._queue(CreateImprovement(id=mid, hlc=hlc, args=args))
        return improvement_id

    def set_improvement_field(
        self,
        improvement_id: UUID,
        field: ImprovementField,
        value: str | None,
        base_version: int | None = None,
    ) -> int:
        if base_version is None:
            seen = self.store.get(f"improvement/{improvement_id}", {})
            base_version = int(seen.get("fieldVersions", {}).get(field, 0))
        mid, hlc = self._new()
        args = SetImprovementFieldArgs(
            improvement_id=improvement_id, field=field, value=value, base_version=base_version
        )
        return self._queue(SetImprovementField(id=mid, hlc=hlc, args=args))

    def set_improvement_status(self, improvement_id: UUID, status: ImprovementStatus) -> int:
        mid, hlc = self._new()
        args = SetImprovementStatusArgs(improvement_id=improvement_id, status=status)
        return self._queue(SetImprovementStatus(id=mid, hlc=hlc, args=args))

    def attach_improvement_photo(self, improvement_id: UUID, photo_id: UUID) -> int:
        mid, hlc = self._new()
        args = AttachImprovementPhotoArgs(improvement_id=improvement_id, photo_id=photo_id)
        return self._queue(AttachImprovementPhoto(id=mid, hlc=hlc, args=args))

    # ------------------------------------------------------------------------------------ network

    def push_body(self, mutations: list[Mutation]) -> bytes:
        return _enc.encode(
            PushBody(
                protocol_version=PROTOCOL_VERSION,
                client_group_id=self.client_group_id,
                client_id=self.client_id,
                mutations=mutations,
            )
        )

    async def push(self) -> PushResponse | None:
        """Send the queue in batches. ``None`` when a request was lost (the queue stays for a retry)."""
        answer: PushResponse | None = None
        while True:
            batch = [m for m in self.pending if m.id > self.acked][: self.max_batch]
            if not batch:
                return answer
            try:
                status, content = await self.transport.post("/api/sync/push", self.push_body(batch))
            except TransportError:
                return None
            if status == 409:
                problem = msgspec.json.decode(content)
                if problem.get("code") != "mutation_gap":
                    raise SyncHttpError(status, content)
                expected = int(problem["expected"])
                if expected - 1 < self.acked:
                    # The server forgot mutations it had confirmed (a restored database): a person must look.
                    raise SyncHttpError(status, content)
                self.acked = expected - 1
                continue
            if status != 200:
                raise SyncHttpError(status, content)
            answer = _push_response.decode(content)
            for result in answer.results:
                self.results[result.id] = result
            self.acked = max(self.acked, answer.last_mutation_id)

    async def pull(self) -> list[PullResponse]:
        """Pull until ``hasMore`` is false; returns the pages. Raises TransportError when a page was lost."""
        pages = []
        while True:
            body = _enc.encode(
                PullRequest(
                    protocol_version=PROTOCOL_VERSION,
                    client_group_id=self.client_group_id,
                    cookie=self.cookie,
                )
            )
            status, content = await self.transport.post("/api/sync/pull", body)
            if status != 200:
                raise SyncHttpError(status, content)
            page = _pull_response.decode(content)
            self.apply_pull(page)
            pages.append(page)
            if not page.has_more:
                return pages

    def apply_pull(self, page: PullResponse) -> None:
        if page.reset:
            self.store.clear()
            self.conflicts.clear()
        for op in page.patch:
            if isinstance(op, DelOp):
                self.store.pop(op.key, None)
            else:
                self.store[op.key] = op.value
        for conflict in page.conflicts:
            self.conflicts[conflict["id"]] = conflict
        self.cookie = page.cookie
        done = page.last_mutation_ids.get(self.client_id, 0)
        self.acked = max(self.acked, done)
        self.pending = [m for m in self.pending if m.id > done]

    async def sync(self) -> None:
        await self.push()
        await self.pull()

    # ------------------------------------------------------------------------------------ local view

    def view(self) -> dict[str, dict[str, Any]]:
        """The store with the pending mutations replayed on top (what the device shows)."""
        view = copy.deepcopy(self.store)
        for m in self.pending:
            REGISTRY[type(m)].replay(view, m)
        return view

    def opinions(self, inspection_id: UUID | str | None = None) -> list[OpinionValue]:
        """The written opinions pulled (of one inspection, or all), oldest first, with their kind
        (``application`` / ``review``) and whether they removed the facility (``removal``)."""
        found = [
            msgspec.convert(value, OpinionValue)
            for key, value in self.store.items()
            if key.startswith("opinion/")
        ]
        if inspection_id is not None:
            found = [o for o in found if o.inspection_id == str(inspection_id)]
        return sorted(found, key=lambda o: o.returned_at or "")
