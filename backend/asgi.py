"""The only module that reads the environment at import time: ``uvicorn backend.asgi:app``."""

from backend.allocator import tune_for_large_bodies
from backend.app import create_app
from backend.process import private_files, redact_access_log
from backend.settings import Settings

private_files()
redact_access_log()
tune_for_large_bodies()
app = create_app(Settings.from_env())
