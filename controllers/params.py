"""Reading a request's parameters into a contract model: the query string, a form and a JSON
body merged by name, so that every interface validates through the same model.

A name given several times (in one source or across them) is a list; the model says which
names may repeat (`repeatable`), any other must be given once. A body the API would not read
is an error, never ignored.
"""
from __future__ import annotations

from typing import Any, TypeVar

from flask import request

from runtime import runtime_of
from services.contract import Contract, parse
from services.errors import InvalidInput

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
Model = TypeVar("Model", bound=Contract)


def json_body() -> dict[str, Any]:
    """The JSON object sent, {} if none (or a form, read through `request.form`)."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if not request.is_json:
        mimetype = request.mimetype or "none"
        if mimetype not in FORM_TYPES:
            raise InvalidInput(f"the request body has Content-Type {mimetype}: send JSON with "
                               "Content-Type: application/json, or a form")
        if mimetype == FORM_TYPES[0] and raw.lstrip()[:1] in (b"{", b"["):
            raise InvalidInput("the request body looks like JSON but was sent as a form "
                               f"({mimetype}): send it with Content-Type: application/json")
        return {}
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json.loads on deeply nested arrays/objects; not a ValueError
        raise InvalidInput("the JSON body is nested too deeply") from None
    if body is None:
        raise InvalidInput("the request body is not valid JSON")
    if not isinstance(body, dict):
        raise InvalidInput("the JSON body must be an object")
    return body


def limits() -> dict[str, Any]:
    """The validation context of this service's limits on client input."""
    return {"max_store_ids": runtime_of().config.max_store_ids}


def parse_request(model: type[Model], *, body: bool = True) -> Model:
    """`model` from the query string, and (with `body`) the form and the JSON body."""
    values: dict[str, list[Any]] = {}
    sent = json_body() if body else {}  # first: reading the form consumes the raw body
    for source in [request.args, request.form] if body else [request.args]:
        for name in source:
            values.setdefault(name, []).extend(source.getlist(name))
    for name, given in sent.items():
        values.setdefault(name, []).extend(given if isinstance(given, list) else [given])
    known = model.input_names()
    data: dict[str, Any] = {}
    for name, given in values.items():
        if name in model.repeatable:
            data[name] = given
        elif name in known and len(given) != 1:
            raise InvalidInput(f"{name} must be given once")
        else:  # an unknown name is the model's to report, by name
            data[name] = given[0] if len(given) == 1 else given
    return parse(model, data, context=limits())
