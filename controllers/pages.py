"""The small web page at `/` (static HTML, CSS and JS; no build step)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> Response:
    return current_app.send_static_file("index.html")
