"""`GET /openapi.json` and `GET /docs` (SPEC 8): the API description, for programs and people.

The document is generated: each route of controllers/openapi_routes.py with the parameters and
bodies of the contract models it validates with, merged with the entries written by hand in
controllers/openapi_spec.py, trimmed to the routes this app has (it never describes an endpoint
that would answer 404). `/docs` renders it server-side from templates/docs.html (no script, no
CDN: it works offline and under the page's Content-Security-Policy).
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template

from controllers.openapi_routes import SCHEMA_REF, generated_paths, generated_schemas, model_schemas
from controllers.openapi_schemas import COMPONENTS
from controllers.openapi_spec import PATHS, SCHEMA_MODELS
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


def document_paths() -> dict[str, dict[str, Any]]:
    """The generated operations, and the hand-written ones of routes the registry lacks."""
    paths = {path: dict(item) for path, item in PATHS.items()}
    for path, item in generated_paths().items():
        paths.setdefault(path, {}).update(item)
    return paths


def document_components() -> dict[str, Any]:
    return {**COMPONENTS, "schemas": {**COMPONENTS["schemas"], **model_schemas(*SCHEMA_MODELS),
                                      **generated_schemas()}}


def hoist_defs(node: Any, schemas: dict[str, Any]) -> Any:
    """`node` with every inlined `$defs` (a hand-written entry's `Model.model_json_schema()`)
    moved to `schemas` and its `#/$defs/…` references pointed there."""
    if isinstance(node, list):
        return [hoist_defs(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$defs" and isinstance(value, dict):
            for name, schema in value.items():
                schemas.setdefault(name, hoist_defs(schema, schemas))
        elif key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            out[key] = SCHEMA_REF.format(model=value.removeprefix("#/$defs/"))
        else:
            out[key] = hoist_defs(value, schemas)
    return out


def documented_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in document_paths().items() for method in item if method in HTTP_METHODS}


def build_document(app: Flask) -> dict[str, Any]:
    routed = app_operations(app)
    paths: dict[str, Any] = {}
    for path, item in document_paths().items():
        kept = {method: op for method, op in item.items() if (path, method) in routed}
        if kept:
            paths[path] = kept
    components = document_components()
    paths = hoist_defs(paths, components["schemas"])
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    if not runtime_of(app).config.auth_is_required:
        security.append({})  # a key is optional: without one, the request is anonymous
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "store-monitor",
            "version": "1.0",
            "description": "Store uptime/downtime reports (SPEC sections 3, 5, 7, 8). Errors are JSON "
                           "`{\"error\": …}` (bad input: 400). With AUTH_REQUIRED, send "
                           "`Authorization: Bearer <key>` or `X-API-Key: <key>`.",
        },
        "security": security,
        "paths": paths,
        "components": components,
    }


@bp.get("/openapi.json")
def document() -> Response:
    return jsonify(build_document(current_app))


@bp.get("/docs")
def docs() -> str:
    document = build_document(current_app)
    return render_template("docs.html", document=document, operations=page_operations(document),
                           schemas={name: json.dumps(schema, indent=2, ensure_ascii=False)
                                    for name, schema in document["components"]["schemas"].items()})


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return json.dumps(schema, ensure_ascii=False)


def page_operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's operations as plain rows for the template (references resolved)."""
    responses = document["components"]["responses"]
    rows = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            answers = []
            for status, answer in op["responses"].items():
                if "$ref" in answer:
                    answer = responses[answer["$ref"].rsplit("/", 1)[-1]]
                answers.append({"status": status, "description": answer["description"],
                                "media": ", ".join(answer.get("content", {})) or "no body"})
            rows.append({
                "anchor": f"{method}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-') or 'root'}",
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "public": op.get("security") == [],
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                "type": _schema_text(p.get("schema", {})), "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "bodies": [{"media": media, "schema": _schema_text(content["schema"])}
                           for media, content in op.get("requestBody", {}).get("content", {}).items()],
                "answers": answers,
            })
    return rows
