"""`GET /openapi.json` and `GET /docs` (SPEC 8): the API description, for programs and people.

The document is the one of controllers/openapi_spec.py trimmed to the routes this app has, so it
never describes an endpoint that would answer 404; `/docs` renders it server-side as plain
HTML (no script, no CDN: it works offline and under the page's Content-Security-Policy).
"""
from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from controllers.openapi_schemas import COMPONENTS
from controllers.openapi_spec import PATHS
from runtime import runtime_of

bp = Blueprint("openapi", __name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_CONVERTER_RE = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")


def openapi_path(rule: str) -> str:
    """werkzeug's `/reports/<path:report_id>` as OpenAPI's `/reports/{report_id}`."""
    return _CONVERTER_RE.sub(r"{\1}", rule)


def app_operations(app: Flask) -> set[tuple[str, str]]:
    """Every (path, method) the app routes, static files aside."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods or ():
            if method.lower() in HTTP_METHODS:
                operations.add((openapi_path(rule.rule), method.lower()))
    return operations


def documented_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in PATHS.items() for method in item if method in HTTP_METHODS}


def build_document(app: Flask) -> dict[str, Any]:
    routed = app_operations(app)
    paths: dict[str, Any] = {}
    for path, item in PATHS.items():
        kept = {method: op for method, op in item.items() if (path, method) in routed}
        if kept:
            paths[path] = kept
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    if not runtime_of(app).config.auth_is_required:
        security.append({})  # a key is optional: without one, the request is anonymous
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "store-monitor",
            "version": "1.0",
            "description": "Store uptime/downtime reports (SPEC sections 3, 5, 7, 8). Errors are JSON "
                           "`{\"error\": …}`. With AUTH_REQUIRED, send `Authorization: Bearer <key>` "
                           "or `X-API-Key: <key>`.",
        },
        "security": security,
        "paths": paths,
        "components": COMPONENTS,
    }


@bp.get("/openapi.json")
def document() -> Response:
    return jsonify(build_document(current_app))


@bp.get("/docs")
def docs() -> Response:
    return Response(render_html(build_document(current_app)), mimetype="text/html")


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return json.dumps(schema, ensure_ascii=False)


def _operation_html(path: str, method: str, op: dict[str, Any]) -> list[str]:
    anchor = f"{method}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-') or 'root'}"
    parts = [f'<section id="{anchor}"><h3><code>{method.upper()} {escape(path)}</code></h3>',
             f"<p>{escape(op.get('summary', ''))}"
             + (" <em>(no key needed)</em>" if op.get("security") == [] else "") + "</p>"]
    params = op.get("parameters", [])
    if params:
        parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>")
        for p in params:
            parts.append(f"<tr><td><code>{escape(p['name'])}</code>{' (required)' if p.get('required') else ''}</td>"
                         f"<td>{escape(p['in'])}</td><td><code>{escape(_schema_text(p['schema']))}</code></td>"
                         f"<td>{escape(p.get('description', ''))}</td></tr>")
        parts.append("</table>")
    body = op.get("requestBody")
    if body:
        for media, content in body["content"].items():
            parts.append(f"<p>body <code>{escape(media)}</code>: <code>{escape(_schema_text(content['schema']))}</code></p>")
    parts.append("<table><tr><th>status</th><th>answer</th></tr>")
    for status, answer in op["responses"].items():
        if "$ref" in answer:
            answer = COMPONENTS["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        media = ", ".join(answer.get("content", {})) or "no body"
        parts.append(f"<tr><td>{escape(status)}</td><td>{escape(answer['description'])} "
                     f"<small>({escape(media)})</small></td></tr>")
    parts.append("</table></section>")
    return parts


def render_html(document: dict[str, Any]) -> str:
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>store-monitor API</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>",
             "<body><main><h1>store-monitor API</h1>",
             f"<p>{escape(document['info']['description'])}</p>",
             '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>']
    for path, item in document["paths"].items():
        for method, op in item.items():
            parts.extend(_operation_html(path, method, op))
    parts.append("<h2>Schemas</h2>")
    for name, schema in COMPONENTS["schemas"].items():
        parts.append(f"<h3 id=\"schema-{escape(name)}\">{escape(name)}</h3>"
                     f"<pre>{escape(json.dumps(schema, indent=2, ensure_ascii=False))}</pre>")
    parts.append("</main></body></html>")
    return "\n".join(parts)
