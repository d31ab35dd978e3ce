"""Hypothesis: every spelling of a poll instant that SPEC 1 accepts reads back as that instant,
and what a writer cut short (any prefix without the full date and time to the second, or with a
zone only half written) is rejected, never guessed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
from hypothesis import given, strategies as st

from models.base import datetime_to_micros
from services.ingest.parsing import parse_timestamps

SPACES = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def spellings(draw) -> tuple[str, str, str, int]:
    """(leading blanks + date-time, fraction, zone + trailing blanks, expected epoch µs)."""
    instant = draw(st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2200, 12, 31),
                                timezones=st.just(timezone.utc)))
    digits = draw(st.integers(0, 9))
    micros = instant.microsecond
    if digits < 6:
        micros -= micros % 10 ** (6 - digits)
    instant = instant.replace(microsecond=micros)
    fraction = ""
    if digits:
        extra = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=max(digits - 6, 0),
                                      max_size=max(digits - 6, 0))))
        fraction = "." + (f"{micros:06d}" + extra)[:digits]
    offset = draw(st.one_of(st.just(0), st.integers(-(23 * 60 + 59), 23 * 60 + 59)))
    if offset == 0:
        zone = draw(st.sampled_from(["", " UTC", "UTC", " utc", "Z", "z", "+00:00", "-00:00", "+0000"]))
    else:
        sign = "+" if offset > 0 else "-"
        hours, minutes = divmod(abs(offset), 60)
        zone = draw(st.sampled_from([f"{sign}{hours:02d}:{minutes:02d}", f"{sign}{hours:02d}{minutes:02d}",
                                     f" {sign}{hours:02d}:{minutes:02d}"]))
    local = instant + timedelta(minutes=offset)
    separator = draw(st.sampled_from([" ", "T"]))
    head = draw(SPACES) + local.strftime("%Y-%m-%d") + separator + local.strftime("%H:%M:%S")
    return head, fraction, zone + draw(SPACES), datetime_to_micros(instant)


def parse_one(value: str) -> int | None:
    micros, ok = parse_timestamps(pd.Series([value], dtype=object))
    return int(micros[0]) if ok[0] else None


@given(spellings())
def test_every_accepted_spelling_round_trips(spelling: tuple[str, str, str, int]) -> None:
    head, fraction, zone, expected = spelling
    assert parse_one(head + fraction + zone) == expected


@given(st.lists(spellings(), min_size=1, max_size=30))
def test_a_column_of_spellings_reads_each_one(spellings_: list[tuple[str, str, str, int]]) -> None:
    """The byte-matrix fast path and the regex path agree inside one column."""
    values = [h + f + z for h, f, z, _ in spellings_]
    micros, ok = parse_timestamps(pd.Series(values, dtype=object))
    assert ok.all()
    assert micros.tolist() == [e for _, _, _, e in spellings_]


@given(spellings())
def test_every_truncated_prefix_is_rejected(spelling: tuple[str, str, str, int]) -> None:
    head, fraction, zone, _ = spelling
    text = head + fraction + zone
    # Anything shorter than the full date and time to the second; a dot without a digit.
    cuts = [text[:end] for end in range(len(head))] + ([head + "."] if fraction else [])
    # A zone cut inside: "U", " UT", "+05", "+05:", "+05:3", "+053"...
    written_zone = zone.strip()
    if written_zone.upper() == "UTC" or written_zone[:1] in ("+", "-"):
        start = zone.index(written_zone[0])
        cuts += [head + fraction + zone[: start + end] for end in range(1, len(written_zone))]
    _, ok = parse_timestamps(pd.Series(cuts, dtype=object))
    assert not ok.any(), [c for c, good in zip(cuts, ok) if good]


@given(st.text(max_size=40))
def test_arbitrary_text_is_either_rejected_or_a_full_timestamp(value: str) -> None:
    micros = parse_one(value)
    if micros is not None:
        core = value.strip()
        assert len(core) >= 19 and core[4] == "-" and core[7] == "-" and core[13] == ":" and core[16] == ":"
