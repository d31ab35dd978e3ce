"""What an operator sees of the HTTP side: `GET /metrics`, request counts and latencies, request ids.

Requests are counted by URL rule (`/get_report/<report_id>`), never by path: a path names a
report or a store, and one series each would grow without bound. `/metrics` follows the rule
of the other operator endpoints (an admin key when AUTH_REQUIRED is on) unless METRICS_PUBLIC
is set, for a scraper on a private network that holds no key.
"""
from __future__ import annotations

import re
import time
import uuid

from flask import Blueprint, Flask, Response, g, request

from controllers.auth import current_principal
from runtime import runtime_of
from services import metrics
from services.access.principal import require
from services.log_format import REQUEST_ID

bp = Blueprint("metrics", __name__)

REQUEST_ID_HEADER = "X-Request-ID"
# What a client may send as its own request id: short, printable, no spaces (it is logged).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
UNMATCHED = "<unmatched>"  # the label of requests no URL rule matched (404s of any path)


@bp.get("/metrics")
def metrics_text() -> Response:
    if not runtime_of().config.metrics_public:
        require(current_principal(), "admin")
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def is_public_metrics_request() -> bool:
    """Whether this request is a scrape of /metrics that METRICS_PUBLIC lets in without a key."""
    return request.endpoint == "metrics.metrics_text" and runtime_of().config.metrics_public


def register_observability(app: Flask) -> None:
    """Install the request id and metric hooks; call before any other before_request hook, so
    a request refused by authentication is still counted and carries its id."""
    app.register_blueprint(bp)

    @app.before_request
    def _begin() -> None:
        g.metrics_started = time.perf_counter()
        metrics.HTTP_IN_PROGRESS.inc()
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = sent if SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        g.request_id_token = REQUEST_ID.set(g.request_id)

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED
            metrics.HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
            metrics.HTTP_LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        request_id = g.get("request_id")
        if request_id is not None:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        if g.pop("metrics_started", None) is not None:
            metrics.HTTP_IN_PROGRESS.dec()
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                REQUEST_ID.reset(token)
            except ValueError:  # a streamed answer ending in another context than it began
                REQUEST_ID.set(None)
