"""What an operator sees: Prometheus metrics (prometheus-client) and a request id.

- ``GET /metrics`` (Prometheus text format) answers only with ``Authorization: Bearer <FIELDCHECK_METRICS_TOKEN>``;
  without a configured token it is 404: metrics are closed to the public.
- With several server processes (``fieldcheck serve --workers N``) each writes its samples to files in
  ``FIELDCHECK_METRICS_DIR`` (prometheus-client's multiprocess mode) and any process answers the scrape with
  the sum over all of them.
- Every response carries ``X-Request-ID`` (the caller's, when it sent a sane one, else a new one); the same id
  is in each log line written while the request runs and in its problem details (``requestId``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, BeforeMessageSendHookHandler, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REQUEST_ID: ContextVar[str] = ContextVar("fieldcheck_request_id", default="")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# seconds; a push is ~5 ms when the server keeps up, the target p99 is 100 ms
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics, one set per app (``app.state.metrics``)."""

    def __init__(self, multiprocess_dir: str = "") -> None:
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir:
            # prometheus-client finds its directory in the environment when a process first writes a sample
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiprocess_dir
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.request_seconds = Histogram(
            "fieldcheck_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, per route (operation id)",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pushes = Counter(
            "fieldcheck_sync_pushes", "Sync pushes answered, by outcome", ["outcome"], registry=r
        )
        self.mutations = Counter(
            "fieldcheck_sync_mutations", "Mutations in answered pushes, by result", ["status"], registry=r
        )
        self.upload_bytes = Counter(
            "fieldcheck_upload_bytes", "Upload bytes accepted (tus PATCH bodies)", registry=r
        )
        self.uploads_completed = Counter(
            "fieldcheck_uploads_completed", "Uploads whose last byte arrived", registry=r
        )
        self.login_failures = Counter(
            "fieldcheck_login_failures", "Refused logins (wrong password, throttled)", registry=r
        )
        self.db_connections = Gauge(
            "fieldcheck_db_connections",
            "Database connections of this process, by state (in_use / idle)",
            ["state"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self._pool_checked = 0.0

    def note_push(self, results: list[Any]) -> None:
        self.pushes.labels("answered").inc()
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        for status, count in counts.items():
            self.mutations.labels(status).inc(count)

    def sample_pool(self, engine: Any) -> None:
        """Connection use of this process, at most once a second (called at the end of requests)."""
        now = time.monotonic()
        if now - self._pool_checked < 1.0:
            return
        self._pool_checked = now
        in_use, idle = pool_use(engine)
        self.db_connections.labels("in_use").set(in_use)
        self.db_connections.labels("idle").set(idle)

    def exposition(self, queue: list[tuple[str, int, float]]) -> bytes:
        """The text format: this app's metrics (all processes' in multiprocess mode) and the job queue."""
        registry = CollectorRegistry(auto_describe=False)
        if self.multiprocess_dir:
            MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        text = generate_latest(registry)
        depth = GaugeMetricFamily("fieldcheck_job_queue_depth", "Jobs not done yet, by kind", labels=["kind"])
        lag = GaugeMetricFamily(
            "fieldcheck_job_lag_seconds", "Age of the oldest due job not done yet, by kind", labels=["kind"]
        )
        for kind, count, oldest in queue:
            depth.add_metric([kind], count)
            lag.add_metric([kind], oldest)
        extra = CollectorRegistry(auto_describe=False)
        extra.register(_Static([depth, lag]))
        return text + generate_latest(extra)


class _Static:
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def pool_use(engine: Any) -> tuple[int, int]:
    """(in use, idle) connections of ``engine`` in this process: asyncpg's pool, or SQLite's idle connections."""
    pool = getattr(engine, "pool", None)
    if pool is None:
        return 0, 0
    if hasattr(pool, "get_size"):  # asyncpg
        idle = pool.get_idle_size()
        return pool.get_size() - idle, idle
    return 0, int(getattr(pool, "idle_count", 0))


CONTENT_TYPE = CONTENT_TYPE_LATEST


def token_ok(header: str, expected: str) -> bool:
    scheme, _, token = header.partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and secrets.compare_digest(token.strip(), expected)


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is sane (letters, digits, ``._-``, at most 64), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _SANE_ID.match(given):
                return given
            break
    return secrets.token_hex(8)


def request_metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Route-level middleware: notes when the request started and sets its id (for logs and problems)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            scope["state"][STARTED] = time.perf_counter()
            REQUEST_ID.set(request_id_of(scope))  # this request's task only; its error handler still sees it
        await app(scope, receive, send)

    return middleware


def set_response_headers(message: Message, headers: list[tuple[bytes, bytes]]) -> None:
    """Set ``headers`` (lower-case names, encoded) on a response start, replacing any of the same names: what
    ``MutableScopeHeaders``' item assignment does, in one pass over the headers instead of one per header set
    (they run on every response)."""
    start: dict[str, Any] = message  # type: ignore[assignment]  # an http.response.start (the callers check)
    names = {name for name, _ in headers}
    kept = [h for h in start.get("headers", ()) if h[0].lower() not in names]
    start["headers"] = kept + headers


def response_metrics_hook() -> BeforeMessageSendHookHandler:
    """A ``before_send`` hook (it sees every answer, errors included): ``X-Request-ID`` on the response, the
    request's time in the latency histogram of its route (time to the answer's first byte)."""

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        request_id = REQUEST_ID.get() or request_id_of(scope)
        set_response_headers(message, [(b"x-request-id", request_id.encode("latin-1"))])
        app = scope.get("app")
        started = scope.get("state", {}).get(STARTED)
        if app is None or started is None:
            return  # no route matched (404 before any middleware)
        metrics: Metrics = app.state.metrics
        handler = scope.get("route_handler")
        route = getattr(handler, "operation_id", None) or "other"
        metrics.request_seconds.labels(route, scope.get("method", ""), str(message["status"])).observe(
            time.perf_counter() - started
        )
        metrics.sample_pool(app.state.engine)

    return hook


STARTED = "fieldcheck_started"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request id, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["requestId"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """``logging.config.dictConfig`` for the server: JSON lines on stderr, uvicorn's loggers included. Handed to
    uvicorn, which applies it in each of its worker processes too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLogFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
