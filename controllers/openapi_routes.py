"""The per-route registry of the OpenAPI document: what each operation of SPEC 3, 5, 7 and 8 is
(summary, tags, answers) and which contract model it reads. Parameters and bodies are generated
from those models (`model_json_schema`), so the document says exactly what the code validates.

Routes described here win over a hand-written entry of controllers/openapi_spec.py for the same
path and method; routes only written there (added by other features) are kept as written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from controllers.openapi_spec import JSON, _error, _json, _path, _query, errors, model_ref
from services.contract import Contract
from services.contract.answers import (
    Availability, ReportList, ReportStarted, ReportState, ReportSummary, Schedule, ScheduleCreated,
    ScheduleDeleted, ScheduleList,
)
from services.contract.closures import ClosureQuery, NewClosure
from services.contract.reports import AvailabilityQuery, RecentReportsQuery, TriggerRequest
from services.contract.schedules import ScheduleRequest
from services.contract.store_ids import MAX_STORE_ID_LENGTH

FORM = "application/x-www-form-urlencoded"
SCHEMA_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Route:
    """One operation: its words, the model of its query string and/or body, and its answers."""

    summary: str
    tags: tuple[str, ...]
    responses: dict[str, Any]
    query: type[Contract] | None = None
    body: type[BaseModel] | None = None
    body_media: tuple[str, ...] = (JSON,)
    body_required: bool = False
    parameters: tuple[dict[str, Any], ...] = ()  # path parameters, or a query not read by a model
    public: bool = False  # no key needed, even with AUTH_REQUIRED
    operation_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _ref(target: str | type[BaseModel]) -> dict[str, str]:
    """A reference to a schema: by name (openapi_schemas.py), or a pydantic model (an answer's),
    whose generated schema is then placed under components/schemas."""
    if isinstance(target, str):
        return {"$ref": SCHEMA_REF.format(model=target)}
    return model_ref(target)


REPORT_ANSWER = {
    "description": "Running or Failed (JSON), or the finished report (CSV, `X-Report-Status: Complete`)",
    "content": {JSON: {"schema": _ref(ReportState)}, "text/csv": {"schema": {"type": "string"}}},
}
GONE = {"410": _error("The finished report's file is gone")}
REPORT_ID = _path("report_id", "A report id from /trigger_report")
SCHEDULE_ID = _path("schedule_id", "A schedule id from POST /schedules")
STORE_ID = {**_path("store_id", "The store"), "schema": {"type": "string", "minLength": 1,
                                                         "maxLength": MAX_STORE_ID_LENGTH}}
TRIGGER = dict(
    summary="Start a report in the background (rate limited); a range report with from/to/last_hours",
    tags=("reports",), query=TriggerRequest,
    responses={"202": _json("Started", _ref(ReportStarted)), **errors("400", "401", "403", "413", "429", "503")},
)

ROUTES: dict[tuple[str, str], Route] = {
    ("/health", "get"): Route(
        "Database reachable, last load, row counts", ("service",), public=True,
        responses={"200": _json("Healthy", {"type": "object", "required": ["status"]}),
                   "503": _json("Database unreachable", {"type": "object", "required": ["status"]})}),
    ("/", "get"): Route("The web page", ("service",), {"200": _html("HTML page")}, public=True),
    ("/openapi.json", "get"): Route(
        "This document", ("service",), public=True,
        responses={"200": _json("OpenAPI 3.1 document", {"type": "object", "required": ["openapi", "paths"]})}),
    ("/docs", "get"): Route("This document as a page for people", ("service",), {"200": _html("HTML page")},
                            public=True),
    ("/trigger_report", "get"): Route(**TRIGGER, operation_id="triggerReportGet"),
    ("/trigger_report", "post"): Route(**TRIGGER, body=TriggerRequest, body_media=(JSON, FORM),
                                       operation_id="triggerReport"),
    ("/get_report", "get"): Route(
        "A report's state, or its CSV once finished", ("reports",),
        parameters=(_query("report_id", "The report id", {"type": "string"}),
                    _query("repid", "Alias of report_id", {"type": "string"})),
        responses={"200": REPORT_ANSWER, **errors("400", "401", "404", "503"), **GONE}),
    ("/get_report/{report_id}", "get"): Route(
        "Same as /get_report, id in the path", ("reports",), parameters=(REPORT_ID,),
        responses={"200": REPORT_ANSWER, **errors("401", "404", "503"), **GONE}),
    ("/reports", "get"): Route(
        "Recent reports (an owner key: only its own)", ("reports",), query=RecentReportsQuery,
        responses={"200": _json("Newest first", _ref(ReportList)), **errors("400", "401", "503")}),
    ("/reports/{report_id}", "get"): Route(
        "A report's parameters, timings and webhook deliveries", ("reports",), parameters=(REPORT_ID,),
        responses={"200": _json("The report", _ref(ReportSummary)), **errors("401", "404", "503")}),
    ("/stores/{store_id}/availability", "get"): Route(
        "Totals, incidents and days of one store over a range (SPEC 5)", ("availability",),
        parameters=(STORE_ID,), query=AvailabilityQuery,
        responses={"200": _json("Availability", _ref(Availability)), **errors("400", "401", "404", "503")}),
    ("/stores/{store_id}/closures", "post"): Route(
        "Declare a planned closure of the store (SPEC 9): local times or instants", ("closures",),
        parameters=(STORE_ID,), body=NewClosure, body_required=True,
        responses={"201": _json("Created", _ref("Closure")), **errors("400", "401", "403", "404", "413", "503")}),
    ("/stores/{store_id}/closures", "get"): Route(
        "The store's closures overlapping [from, to) (SPEC 9)", ("closures",), parameters=(STORE_ID,),
        query=ClosureQuery,
        responses={"200": _json("Closures by start", _ref("ClosureList")), **errors("400", "401", "403", "404", "503")}),
    ("/stores/{store_id}/closures/{closure_id}", "delete"): Route(
        "Remove one closure of the store (SPEC 9)", ("closures",),
        parameters=(STORE_ID, _path("closure_id", "A closure_id from POST or GET /stores/{store_id}/closures")),
        responses={"204": {"description": "Removed"}, **errors("400", "401", "403", "404", "503")}),
    ("/schedules", "get"): Route(
        "Schedules (an owner key: only its own)", ("schedules",),
        responses={"200": _json("Schedules", _ref(ScheduleList)), **errors("401", "503")}),
    ("/schedules", "post"): Route(
        "Create a schedule (rate limited, SPEC 7)", ("schedules",), body=ScheduleRequest, body_required=True,
        responses={"201": _json("Created", _ref(ScheduleCreated)),
                   **errors("400", "401", "403", "413", "429", "503")}),
    ("/schedules/{schedule_id}", "get"): Route(
        "A schedule with its last and next run and recent reports", ("schedules",), parameters=(SCHEDULE_ID,),
        responses={"200": _json("The schedule", _ref(Schedule)), **errors("401", "404", "503")}),
    ("/schedules/{schedule_id}", "delete"): Route(
        "Delete a schedule", ("schedules",), parameters=(SCHEDULE_ID,),
        responses={"200": _json("Deleted", _ref(ScheduleDeleted)), **errors("401", "404", "503")}),
}

_ANNOTATIONS = ("title", "default")


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without pydantic's title and default (noise in a parameter)."""
    return {k: v for k, v in schema.items() if k not in _ANNOTATIONS}


def query_parameters(model: type[Contract]) -> list[dict[str, Any]]:
    """One OpenAPI query parameter per input name of `model`: a repeatable name (a list, or one
    value) is an exploded array, the form a query string repeats a name in."""
    schema = model.model_json_schema(by_alias=True, ref_template=SCHEMA_REF)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _clean(prop)
        description = prop.pop("description", "")
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "description": description}
        arrays = [option for option in prop.get("anyOf", ()) if option.get("type") == "array"]
        if arrays:
            param.update(schema=arrays[0], style="form", explode=True)
        else:
            param["schema"] = prop
        parameters.append(param)
    return parameters


def model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """Each model's JSON schema, and those it refers to, by name, for components/schemas."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template=SCHEMA_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"tags": list(route.tags), "summary": route.summary}
    if route.operation_id:
        op["operationId"] = route.operation_id
    if route.public:
        op["security"] = []
    parameters = list(route.parameters) + (query_parameters(route.query) if route.query is not None else [])
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {"required": route.body_required, "content": {
            media: {"schema": _ref(route.body.__name__)} for media in route.body_media}}
    op["responses"] = route.responses
    return {**op, **route.extra}


def generated_paths() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), route in ROUTES.items():
        paths.setdefault(path, {})[method] = operation(route)
    return paths


def generated_schemas() -> dict[str, Any]:
    """The schemas of every model a route reads."""
    models = {route.body for route in ROUTES.values() if route.body is not None}
    return model_schemas(*sorted(models, key=lambda model: model.__name__))
