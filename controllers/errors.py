"""Every error the app can produce becomes a JSON body: never an HTML page or a traceback."""
from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from services.errors import ServiceError

log = logging.getLogger(__name__)


def error_response(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> tuple[Response, int]:
        response, status = error_response(exc.status, exc.message)
        if exc.status == 503:
            response.headers["Retry-After"] = "5"
        if exc.status == 401:  # SPEC 8: a missing, unknown or revoked key
            response.headers["WWW-Authenticate"] = 'Bearer realm="store-monitor"'
        return response, status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        response, status = error_response(exc.code or 500, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, status

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError) -> tuple[Response, int]:
        log.error("database error: %s", exc.orig)
        response, status = error_response(503, "database unavailable, try again shortly")
        response.headers["Retry-After"] = "5"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(_exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_response(500, "internal server error")
