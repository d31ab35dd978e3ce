"""The service's typed edge: one pydantic model per request body or parameter set.

Every interface (HTTP query, form or JSON body, the CLI, stored schedules and jobs) validates its
input through these models, so a rule (the store-id rule, the bounds on instants, which
parameters exclude each other) is written once; the OpenAPI document is generated from them.
Models forbid unknown fields; a validation failure is an `InvalidInput` (HTTP 400), never 422.
"""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from services.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


class Contract(BaseModel):
    """Base of every request model: unknown fields are an error, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe(error: ValidationError) -> str:
    """One readable line per problem: `field: message`."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item.get("loc", ())) or "body"
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse(model: type[Model], data: Any) -> Model:
    """`model` validated from `data`, or InvalidInput with every problem named."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe(exc)) from None
