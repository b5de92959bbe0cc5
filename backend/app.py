"""The only wiring place: ``create_app(settings)`` builds the Litestar app (the hooks it hands the lower areas:
``backend/wiring.py``)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler
from piccolo.engine.postgres import PostgresEngine

from backend.accounts.auth import auth_middleware
from backend.accounts.controllers import (
    AuthController,
    ConflictResolverController,
    ExpertAdminController,
    UserAdminController,
)
from backend.accounts.passwords import use_password_hashing
from backend.accounts.services import demo_accounts_exist
from backend.api_docs import LocalScalarRenderPlugin
from backend.client_address import trusted_networks
from backend.db import (
    bind_engine,
    close_held_writer,
    make_engine,
    open_held_writer,
    pg_pool_options,
    prepare_engine,
)
from backend.db_sqlite import close_pool, open_pool
from backend.errors import exception_handlers
from backend.health import health
from backend.metrics import Metrics, request_metrics_middleware, response_metrics_hook
from backend.metrics_api import metrics
from backend.openapi_contract import BEARER, OpenAPIContractPlugin, StrictStructSchemaPlugin
from backend.settings import Settings
from backend.standards.services import install_shipped_standards
from backend.storage import build_storage, prepare_storage
from backend.tables_index import TABLES
from backend.web.assets import default_pwa_dir, load_app_files
from backend.web_security import cors_config, security_headers_hook, storage_origins
from backend.wiring import wired_hooks

log = logging.getLogger("fieldcheck")


def _secret_key(settings: Settings) -> str:
    """The signing key for local media URLs: from settings, else kept in the data dir across restarts."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_path / "secret_key"
    if not path.exists():
        settings.data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # created with its mode (never readable by others, even briefly) and only once across processes
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def route_handlers() -> list[ControllerRouterHandler]:
    from backend.evidence.controllers import EvidenceController
    from backend.exports.controllers import EXPORT_ROUTES
    from backend.improvement.controllers import PlanController, RoundImprovementController
    from backend.inspections.controllers import (
        ApplicationController,
        AssignmentController,
        InspectionAdminController,
        InspectionController,
        RoundAdminController,
        RoundController,
    )
    from backend.media_api.controllers import MEDIA_ROUTES
    from backend.programme.controllers import (
        ConflictResolveController,
        OpinionController,
        RankingController,
        ReturnController,
        RoundOfficeController,
        SampleController,
    )
    from backend.programme.kind_controllers import PROGRAMME_KIND_ROUTES
    from backend.programme.logistics_controllers import LOGISTICS_ROUTES
    from backend.programme.stage_controllers import RoundStagesController, TeamDrawController
    from backend.registry.controllers import (
        FacilityAdminController,
        FacilityController,
        RegionAdminController,
        RegionController,
    )
    from backend.review.controllers import (
        ConclusionController,
        ReviewFacilityController,
        SubmitIncompleteController,
        ThresholdController,
    )
    from backend.standards.controllers import StandardAdminController, StandardController
    from backend.sync_api.controllers import ChecklistController, SyncController
    from backend.verdict.controllers import VERDICT_ROUTES
    from backend.web.controllers import AppShellController

    return [
        health,
        metrics,
        AuthController,
        UserAdminController,
        RegionController,
        RegionAdminController,
        FacilityController,
        FacilityAdminController,
        ExpertAdminController,
        ConflictResolverController,
        RoundController,
        RoundAdminController,
        ApplicationController,
        AssignmentController,
        InspectionController,
        InspectionAdminController,
        StandardController,
        StandardAdminController,
        SyncController,
        ChecklistController,
        *MEDIA_ROUTES,
        ConclusionController,
        ReviewFacilityController,
        SubmitIncompleteController,
        ThresholdController,
        EvidenceController,
        SampleController,
        RoundStagesController,
        TeamDrawController,
        ReturnController,
        OpinionController,
        RoundOfficeController,
        RankingController,
        ConflictResolveController,
        *PROGRAMME_KIND_ROUTES,
        *LOGISTICS_ROUTES,
        PlanController,
        RoundImprovementController,
        *EXPORT_ROUTES,
        *VERDICT_ROUTES,
        AppShellController,
    ]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="fieldcheck",
        version="0.1.0",
        description="Offline-first on-site inspections: sync, evidence photos, standards and conclusions.",
        path="/schema",
        render_plugins=[LocalScalarRenderPlugin()],
        # which operations need it: backend/openapi_contract.py
        components=Components(security_schemes={BEARER: SecurityScheme(type="http", scheme="bearer")}),
    )


def _start_workers(app: Litestar) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """In-process photo transfer and derivative workers (they share the database queue with any others)."""
    from backend.workers import run_workers

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_workers(
            app.state.settings, once=False, engine=app.state.engine, storage=app.state.storage, stop=stop
        ),
        name="fieldcheck-workers",
    )
    return stop, task


async def _stop_workers(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=30)
    except Exception:  # a job mid-way keeps its lease and is reclaimed later
        log.exception("workers did not stop cleanly")


def create_app(settings: Settings, *, start_pool: bool = True) -> Litestar:
    """Build the app. ``start_pool=False`` leaves PostgreSQL without a pool (tests run on their own loop)."""
    if settings.upload_spool == "s3" and settings.storage != "s3":
        raise ValueError(
            "FIELDCHECK_UPLOAD_SPOOL=s3 needs FIELDCHECK_STORAGE=s3 (the spool lives in its bucket)"
        )
    trusted_networks(settings.trusted_proxies)  # a bad FIELDCHECK_TRUSTED_PROXIES fails at start-up
    engine = make_engine(settings)
    bind_engine(engine, TABLES)
    use_password_hashing(settings.password_hashing)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await prepare_engine(engine)
        await prepare_storage(app.state.storage, cors_origins=settings.s3_cors_origin_list)
        installed = await install_shipped_standards()
        if installed:
            log.info("published the shipped standards %s", ", ".join(installed))
        pool = engine if start_pool and isinstance(engine, PostgresEngine) else None
        if pool is not None:
            await pool.start_connection_pool(**pg_pool_options())
        if await demo_accounts_exist():
            log.warning("demo accounts with the password 'demo' exist: never run this database in production")
        if settings.password_hashing != "argon2id":  # noqa: S105 - a profile name
            log.warning("password hashing %s is for the test suite only", settings.password_hashing)
        workers = _start_workers(app) if settings.workers else None
        writer = await open_held_writer(engine)
        idle = await open_pool(engine)
        try:
            yield
        finally:
            if workers is not None:
                await _stop_workers(*workers)
            await close_pool(idle)
            await close_held_writer(writer)
            if pool is not None:
                await pool.close_connection_pool()

    app = Litestar(
        route_handlers=route_handlers(),
        middleware=[request_metrics_middleware, auth_middleware()],
        exception_handlers=exception_handlers(),
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        cors_config=cors_config(settings),
        before_send=[
            security_headers_hook(
                hsts_seconds=settings.hsts_seconds, media_origins=storage_origins(settings)
            ),
            response_metrics_hook(),
        ],
        plugins=[OpenAPIContractPlugin(), StrictStructSchemaPlugin()],
        debug=False,
        # logging is the server's (backend.metrics.log_config: JSON lines); Litestar's default would replace
        # the root logger's handlers in each worker process
        logging_config=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(settings.metrics_dir)
    app.state.engine = engine
    app.state.storage = build_storage(settings)
    app.state.secret_key = _secret_key(settings)
    app.state.hooks = wired_hooks()
    app.state.app_files = load_app_files(Path(settings.pwa_dir) if settings.pwa_dir else default_pwa_dir())
    return app
