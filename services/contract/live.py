"""Query parameters of the live status listing (SPEC 10)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, field_validator

from services.contract import Contract


class ProblemStoresQuery(Contract):
    """`GET /stores/status?limit=N`: at most N stores (the count of all of them is answered too)."""

    limit: Annotated[StrictInt, Field(ge=1, le=10_000)] = Field(1000, description="At most this many stores listed")

    @field_validator("limit", mode="before")
    @classmethod
    def _query_text(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value
