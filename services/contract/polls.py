"""The shape of live polls (SPEC 10): one poll, a request of polls, and the answer.

Declared once here for the OpenAPI document and for the parser. The parser
(services/ingestion/poll_batch.py) does not run pydantic per poll: it takes the field names and
the limit from these models and applies the same value rules (SPEC 1, the store-id rule) to whole
columns. Measured on the 2-core machine, 1,000 polls: `PollBatch.model_validate_json` 4.6 ms
without even parsing the timestamps, the vectorised path 1.9 ms with everything (JSON included);
at 20,000 polls/s the difference is a tenth of a core, and the vectorised path names every bad
poll by index instead of failing the batch.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, RootModel

from services.contract import Contract
from services.contract.store_ids import StoreId

MAX_POLLS_PER_REQUEST = 10_000


class PollIn(Contract):
    """One poll, values as in store_status.csv (SPEC 1)."""

    store_id: StoreId
    status: Annotated[str, Field(description="active or inactive, case-insensitive, blanks around it ignored",
                                 examples=["active"])]
    timestamp_utc: Annotated[str, Field(
        description="A full date and a time to the second, optional fraction and zone: "
                    "`2023-01-22 12:09:39.388884 UTC`, `2023-01-22T12:09:39Z`, `…+02:00` (converted to UTC); "
                    "no zone means UTC",
        examples=["2023-01-22T12:09:39Z"])]


class PollBatch(RootModel[list[PollIn]]):
    """`POST /polls` body: a JSON array of polls (or NDJSON, one poll object per line)."""

    root: Annotated[list[PollIn], Field(max_length=MAX_POLLS_PER_REQUEST)]


POLL_FIELDS: tuple[str, ...] = tuple(PollIn.model_fields)


class PollRejection(Contract):
    index: Annotated[int, Field(description="Position of the poll in the request (0-based; NDJSON: its line)")]
    reason: str


class PollsAnswer(Contract):
    """What `POST /polls` did: valid polls are `accepted` (they changed the data: new, or a status
    turned inactive) or `duplicates` (already stored, or repeated in the request)."""

    accepted: int
    duplicates: int
    rejected: list[PollRejection]
