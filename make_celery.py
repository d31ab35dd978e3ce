"""Celery worker entry point: `celery -A make_celery worker --loglevel INFO` (REPORT_BACKEND=celery).

Workers read the same settings (DATABASE_URL, BROKER_URL, ...) as the API processes.
"""
from __future__ import annotations

from app import create_app
from config import Config

_config = Config.from_env()
if _config.report_backend != "celery":
    raise SystemExit("make_celery: set REPORT_BACKEND=celery and BROKER_URL to run report workers")

flask_app = create_app(_config)
celery_app = flask_app.extensions["celery"]
