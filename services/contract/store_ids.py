"""The one rule for what a store id may be: the API, the CLI, stored schedules and the CSV loader
all call it (the report models of services/contract/reports.py through `StoreId`).

A store id is an opaque string: surrounding blanks are dropped, and it must be non-empty,
at most `MAX_STORE_ID_LENGTH` characters (the width of the database column) and free of control
characters (they would break the report CSV and the logs).
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Iterable

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field

from services.errors import InvalidInput

MAX_STORE_ID_LENGTH = 255
MAX_STORE_IDS = 10_000  # per report or schedule; config.max_store_ids may lower it per service
CONTROL_CHARS = r"[\x00-\x1f\x7f]"
_CONTROL_RE = re.compile(CONTROL_CHARS)


class InvalidStoreId(InvalidInput):
    """A store id that breaks the rule; the message says which part."""


def clean_store_id(value: Any) -> str:
    """One store id given by a person (API or CLI), stripped; raises InvalidStoreId."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidStoreId("store_id values must be strings")
    text = str(value).strip()
    if not text:
        raise InvalidStoreId("store_id must not be empty")
    if len(text) > MAX_STORE_ID_LENGTH:
        raise InvalidStoreId(f"store_id longer than {MAX_STORE_ID_LENGTH} characters")
    if _CONTROL_RE.search(text):
        raise InvalidStoreId("store_id must not contain control characters")
    return text


def clean_store_ids(values: Iterable[Any], max_count: int = MAX_STORE_IDS) -> tuple[str, ...]:
    """Several store ids: each cleaned, duplicates dropped (first order kept), at least one."""
    given = list(values)
    if not given:
        raise InvalidStoreId("store_id must list at least one store (leave it out for every store)")
    if len(given) > max_count:
        raise InvalidStoreId(f"too many store_id values: at most {max_count} per report")
    return tuple(dict.fromkeys(clean_store_id(v) for v in given))


def store_id_checks(cleaned: pd.Series) -> list[tuple[np.ndarray, str]]:
    """The same rule over a column of already stripped ids: (ok mask, reason) per check.

    For the loader, which validates the distinct ids of a file at once.
    """
    return [
        ((cleaned != "").to_numpy(), "empty store_id"),
        ((cleaned.str.len() <= MAX_STORE_ID_LENGTH).to_numpy(),
         f"store_id longer than {MAX_STORE_ID_LENGTH} characters"),
        (~cleaned.str.contains(CONTROL_CHARS, regex=True).to_numpy(), "store_id contains control characters"),
    ]


# The rule as a pydantic type, for the request models.
StoreId = Annotated[str, BeforeValidator(clean_store_id),
                    Field(min_length=1, max_length=MAX_STORE_ID_LENGTH, pattern=r"^[^\x00-\x1f\x7f]*$",
                          description="A store id: 1 to 255 characters, no control characters "
                                      "(blanks around it dropped)")]
