"""The ``fieldcheck`` command: serve, migrate, demo, import-standard, create-user, worker, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import logging.config
import os
import shutil
import sys
from collections.abc import Sequence
from typing import NoReturn
from uuid import UUID

from backend.process import private_files, redact_access_log
from backend.settings import Settings

log = logging.getLogger("fieldcheck")


def fail(message: str, status: int = 2) -> NoReturn:
    """Bad input: one clear line on stderr, no traceback."""
    print(f"fieldcheck: {message}", file=sys.stderr)
    raise SystemExit(status)


def _uuid_arg(value: str | None, flag: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        fail(f"{flag} must be an id (a UUID), not {value!r}")


def _settings() -> Settings:
    return Settings.from_env()


async def _bound(settings: Settings) -> None:
    from backend.accounts.passwords import use_password_hashing
    from backend.db import bind_engine, make_engine, prepare_engine
    from backend.tables_index import TABLES

    engine = make_engine(settings)
    bind_engine(engine, TABLES)
    use_password_hashing(settings.password_hashing)
    await prepare_engine(engine)


async def _migrate(settings: Settings) -> list[str]:
    from backend.db import current_engine
    from backend.migrations import migrate

    await _bound(settings)
    return await migrate(current_engine())


async def _demo(settings: Settings, *, only_if_empty: bool) -> bool:
    from backend.demo import database_is_empty, load_demo, load_demo_verdicts
    from backend.programme.demo import load_programme_demo

    await _migrate(settings)
    if not await database_is_empty():
        if only_if_empty:
            return False
        print("the database is not empty; demo data is loaded only into an empty database", file=sys.stderr)
        raise SystemExit(1)
    ids = await load_demo()
    await load_demo_verdicts(ids)
    await load_programme_demo(ids)
    return True


def cmd_migrate(_: argparse.Namespace) -> None:
    applied = asyncio.run(_migrate(_settings()))
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


def cmd_demo(_: argparse.Namespace) -> None:
    asyncio.run(_demo(_settings(), only_if_empty=False))
    print(
        "demo data loaded; accounts admin, office, province, inspector1..6, clinic1, county1, school1 (password: demo)"
    )


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from backend.allocator import tune_for_large_bodies
    from backend.app import create_app
    from backend.metrics import log_config

    logging.config.dictConfig(log_config())  # the server logs JSON lines from its first one
    tune_for_large_bodies()
    settings = _settings()
    if settings.data_path.is_dir() and settings.data_path.stat().st_mode & 0o077:
        log.warning("the data dir %s was readable by others: made private (0700)", settings.data_path)
        settings.data_path.chmod(0o700)
    asyncio.run(_migrate(settings))
    if args.demo and asyncio.run(_demo(settings, only_if_empty=True)):
        print(
            "empty database: demo data loaded (accounts admin, office, province, inspector1..6, clinic1, county1, school1; password demo)"
        )
    host = args.host or settings.host
    port = args.port or settings.port
    redact_access_log()
    if args.workers <= 1:
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides (FIELDCHECK_TRUSTED_PROXIES)
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            log_config=log_config(),
            proxy_headers=False,
        )
        return
    # N processes on one port (uvicorn's supervisor; the kernel spreads connections over them). Each builds
    # the app from the environment (backend/asgi.py) and runs the background workers too: jobs are claimed
    # under leases in the database, so N pollers never run one job twice. Metrics: multiprocess mode.
    if not settings.metrics_dir:
        metrics_dir = settings.data_path / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)  # samples of an earlier run's processes
        metrics_dir.mkdir(parents=True)
        os.environ["FIELDCHECK_METRICS_DIR"] = str(metrics_dir)
    uvicorn.run(
        "backend.asgi:app",
        host=host,
        port=port,
        workers=args.workers,
        log_level="info",
        log_config=log_config(),
        proxy_headers=False,
    )


def cmd_create_user(args: argparse.Namespace) -> None:
    from backend.accounts.schemas import CreateUserRequest
    from backend.accounts.services import create_user

    region_id = _uuid_arg(args.region_id, "--region-id")
    facility_id = _uuid_arg(args.facility_id, "--facility-id")
    if args.role == "clinic" and facility_id is None:
        fail("a clinic user belongs to one facility: give --facility-id")
    if args.role == "office" and region_id is None:
        fail("an office user oversees a region: give --region-id")
    if not args.password and not sys.stdin.isatty():
        fail("no terminal to ask for the password: give --password, or run it in a terminal")
    password = args.password or getpass.getpass(f"password for {args.username}: ")

    async def run() -> None:
        await _migrate(_settings())
        await create_user(
            data=CreateUserRequest(
                username=args.username,
                password=password,
                role=args.role,
                region_id=region_id,
                facility_id=facility_id,
            ),
            actor_id=None,
        )

    asyncio.run(run())
    print(f"created {args.role} {args.username}")


def cmd_import_standard(args: argparse.Namespace) -> None:
    from pathlib import Path

    from backend.standards.loader import parse_standard
    from backend.standards.problems import StandardValidationError
    from backend.standards.services import save_standard

    try:
        raw = Path(args.file).read_bytes()
    except OSError as error:
        fail(f"cannot read {args.file}: {error.strerror or error}")
    try:
        standard = parse_standard(raw)
    except StandardValidationError as error:
        for problem in error.problems:
            print(f"{problem.path}: {problem.message}", file=sys.stderr)
        raise SystemExit(2) from None

    async def run() -> None:
        await _migrate(_settings())
        summary = await save_standard(standard=standard, actor_id=None, publish=args.publish)
        print(f"{summary.id}: {summary.status} (etag {summary.etag[:12]})")

    asyncio.run(run())


def cmd_worker(args: argparse.Namespace) -> None:
    from backend.workers import run_workers

    settings = _settings()
    asyncio.run(_migrate(settings))
    asyncio.run(run_workers(settings, once=args.once))


def cmd_backup(args: argparse.Namespace) -> None:
    from pathlib import Path

    from backend.backup import BackupError, backup

    try:
        summary = backup(_settings(), Path(args.dest))
    except BackupError as error:
        print(f"fieldcheck backup: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"backed up to {summary.path}: database {summary.database_bytes} bytes, "
        f"{summary.files} files ({summary.file_bytes} bytes) of spool and storage"
    )


def cmd_restore(args: argparse.Namespace) -> None:
    from pathlib import Path

    from backend.backup import BackupError, restore

    try:
        summary = restore(_settings(), Path(args.src), force=args.force)
    except BackupError as error:
        print(f"fieldcheck restore: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"restored into {summary.path}: database {summary.database_bytes} bytes, "
        f"{summary.files} files ({summary.file_bytes} bytes) of spool and storage"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldcheck", description="fieldcheck inspections server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve the app")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true", help="load demo data when the database is empty")
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes on the one port (see docs/operations.md)"
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load demo data into an empty database").set_defaults(func=cmd_demo)
    create = sub.add_parser("create-user", help="create an account")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=["admin", "office", "inspector", "clinic"])
    create.add_argument("--password", help="prompted for when absent")
    create.add_argument("--region-id")
    create.add_argument("--facility-id")
    create.set_defaults(func=cmd_create_user)
    imp = sub.add_parser("import-standard", help="validate and store a standard file (JSON)")
    imp.add_argument("file")
    imp.add_argument(
        "--publish", action="store_true", help="publish it (immutable) instead of keeping a draft"
    )
    imp.set_defaults(func=cmd_import_standard)
    worker = sub.add_parser("worker", help="run the background workers (photo transfer, derivatives)")
    worker.add_argument("--once", action="store_true", help="drain what is due, then exit")
    worker.set_defaults(func=cmd_worker)
    back = sub.add_parser(
        "backup", help="copy the running SQLite database, local storage, spool and key into a new directory"
    )
    back.add_argument("dest", help="a new (or empty) directory")
    back.set_defaults(func=cmd_backup)
    rest = sub.add_parser("restore", help="bring a backup into FIELDCHECK_DATA_DIR (stop the server first)")
    rest.add_argument("src", help="a directory made by fieldcheck backup")
    rest.add_argument("--force", action="store_true", help="replace the data of a non-empty data dir")
    rest.set_defaults(func=cmd_restore)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    private_files()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    from backend.errors import AppError

    try:
        args.func(args)
    except (
        AppError
    ) as error:  # refused by a service (taken username, unknown facility, published standard, …)
        fail(error.detail, 1)


if __name__ == "__main__":
    main()
