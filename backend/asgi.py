"""The only module that reads the environment at import time: ``uvicorn backend.asgi:app``."""

from backend.app import create_app
from backend.settings import Settings

app = create_app(Settings.from_env())
