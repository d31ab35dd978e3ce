"""The body of `POST /alerts` (SPEC 10): where to send, which stores, how many polls confirm."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictInt, field_validator

from services.contract import Contract
from services.contract.store_ids import MAX_STORE_IDS, StoreId

PollCount = Annotated[StrictInt, Field(ge=1, le=1000)]


class AlertRequest(Contract):
    """A new alert. `store_id` left out: every store the key may see (an owner: its own stores)."""

    webhook_url: str = Field(description="http(s) URL told by a signed POST of each transition (SPEC 7 rules)")
    store_id: list[StoreId] | None = Field(
        None, min_length=1, max_length=MAX_STORE_IDS,
        description="Stores to watch (a single id or a list); default: every store the key may see")
    confirm_polls: PollCount = Field(1, description="Consecutive inactive polls of an open store that make it down")
    recover_polls: PollCount = Field(1, description="Consecutive active polls that make a down store up again")

    @field_validator("store_id", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        return value

    def store_ids(self) -> tuple[str, ...] | None:
        """The ids asked for, duplicates dropped (first order kept)."""
        return None if self.store_id is None else tuple(dict.fromkeys(self.store_id))
