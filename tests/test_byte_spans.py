"""Store ids and timestamps read from the file's bytes (services/ingest/byte_spans.py) give what
pandas gives for the same values as strings, whatever the values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest import byte_spans
from services.ingest.byte_spans import ByteSpans

VALUES = st.one_of(
    st.sampled_from(["8419537941919820732", "00123", "123", "a", "A", "1a2b3c4d-0000-4000-8000-000000000000",
                     "x" * 64, "y" * 65, "ümlaut-店", "-lead", " pad "]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00,\n\r\""),
            min_size=1, max_size=70),
)


def spans_of(values: list[str]) -> ByteSpans:
    """The values written one per line, as a file's bytes hold them."""
    encoded = [v.encode() for v in values]
    data = b"".join(e + b"\n" for e in encoded)
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    return ByteSpans(np.frombuffer(data, dtype=np.uint8), starts, lengths)


@settings(max_examples=150, deadline=None, database=None)
@given(values=st.lists(VALUES, min_size=1, max_size=60))
def test_factorize_equals_pandas(values: list[str]) -> None:
    codes, uniques = spans_of(values).factorize()
    expected_codes, expected_uniques = pd.factorize(np.array(values, dtype=object))
    assert codes.tolist() == expected_codes.tolist()
    assert list(uniques) == list(expected_uniques)


def test_a_hash_collision_falls_back_to_the_strings(monkeypatch) -> None:
    monkeypatch.setattr(byte_spans, "_MULTIPLIER", np.uint64(0))  # every value hashes alike
    values = ["b", "a", "b", "c", "a", "店"]
    codes, uniques = spans_of(values).factorize()
    assert codes.tolist() == [0, 1, 0, 2, 1, 3]
    assert list(uniques) == ["b", "a", "c", "店"]


@pytest.mark.parametrize("values", [["z"], ["only-one-value-at-the-very-end-of-the-bytes"], ["a", "bb", "a"]])
def test_values_at_the_end_of_the_bytes(values: list[str]) -> None:
    spans = spans_of(values)
    spans.data = spans.data[:-1]  # no line end after the last value
    codes, uniques = spans.factorize()
    expected_codes, expected_uniques = pd.factorize(np.array(values, dtype=object))
    assert codes.tolist() == expected_codes.tolist() and list(uniques) == list(expected_uniques)
