"""The service's typed edge: one pydantic model per request body or parameter set.

Every interface (HTTP query, form or JSON body, the CLI, stored schedules and jobs) validates its
input through these models, so a rule (the store-id rule, the bounds on instants, which
parameters exclude each other) is written once; the OpenAPI document is generated from them.
Models forbid unknown fields; a validation failure is an `InvalidInput` (HTTP 400), never 422.
"""
from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationError

from services.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


class Contract(BaseModel):
    """Base of every request model: unknown fields are an error, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Names that may be given several times (a query string's repeated names, a JSON list);
    # any other must be given once.
    repeatable: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def input_names(cls) -> set[str]:
        """Every name the model reads (its aliases, else its field names)."""
        names: set[str] = set()
        for name, field in cls.model_fields.items():
            alias = field.validation_alias or field.alias or name
            if isinstance(alias, AliasChoices):
                names.update(str(choice) for choice in alias.choices)
            else:
                names.add(str(alias))
        return names


def describe(error: ValidationError) -> str:
    """One readable line per problem: `field: message` (the field left out when the message
    already starts with it; an unknown field said as such, by name)."""
    parts = []
    for item in error.errors(include_url=False):
        loc = [str(p) for p in item.get("loc", ())]
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden" and loc:
            message = f"unknown parameter {loc.pop()[:40]!r}"
        where = ".".join(loc)
        if where and not message.startswith(loc[-1]):
            message = f"{where}: {message}"
        elif where and len(loc) > 1:
            message = f"{'.'.join(loc[:-1])}.{message}"
        parts.append(message)
    return "; ".join(dict.fromkeys(parts))


def parse(model: type[Model], data: Any, context: dict[str, Any] | None = None) -> Model:
    """`model` validated from `data`, or InvalidInput with every problem named. A service error
    raised by a validator (InvalidInput and its kinds) keeps its own message."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise InvalidInput(describe(exc)) from None
