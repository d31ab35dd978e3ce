"""The one rule for what a store id may be, for the API, the CLI and the CSV loader alike.

A store id is an opaque string: surrounding blanks are dropped, and it must be non-empty,
at most `MAX_STORE_ID_LENGTH` characters and free of control characters (they would break
the report CSV and the logs).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import numpy as np
import pandas as pd

MAX_STORE_ID_LENGTH = 255
CONTROL_CHARS = r"[\x00-\x1f\x7f]"
_CONTROL_RE = re.compile(CONTROL_CHARS)


class InvalidStoreId(ValueError):
    """A store id that breaks the rule; the message says which part."""


def clean_store_id(value: Any, max_length: int = MAX_STORE_ID_LENGTH) -> str:
    """One store id given by a person (API or CLI), stripped; raises InvalidStoreId."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidStoreId("store_id values must be strings")
    text = str(value).strip()
    if not text:
        raise InvalidStoreId("store_id must not be empty")
    if len(text) > max_length:
        raise InvalidStoreId(f"store_id longer than {max_length} characters")
    if _CONTROL_RE.search(text):
        raise InvalidStoreId("store_id must not contain control characters")
    return text


def clean_store_ids(values: Iterable[Any], max_count: int, max_length: int = MAX_STORE_ID_LENGTH) -> tuple[str, ...]:
    """Several store ids: each cleaned, duplicates dropped (first order kept), at least one."""
    given = list(values)
    if not given:
        raise InvalidStoreId("store_id must list at least one store (leave it out for every store)")
    if len(given) > max_count:
        raise InvalidStoreId(f"too many store_id values: at most {max_count} per report")
    return tuple(dict.fromkeys(clean_store_id(v, max_length) for v in given))


def store_id_checks(cleaned: pd.Series, max_length: int = MAX_STORE_ID_LENGTH) -> list[tuple[np.ndarray, str]]:
    """The same rule over a column of already stripped ids: (ok mask, reason) per check.

    For the loader, which validates the distinct ids of a file at once.
    """
    return [
        ((cleaned != "").to_numpy(), "empty store_id"),
        ((cleaned.str.len() <= max_length).to_numpy(), f"store_id longer than {max_length} characters"),
        (~cleaned.str.contains(CONTROL_CHARS, regex=True).to_numpy(), "store_id contains control characters"),
    ]
