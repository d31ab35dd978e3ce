"""The integer packings round-trip, sort like (code, time, status), and refuse what does not fit."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from models.packing import StoreTimeKey

SPANS = st.integers(min_value=1, max_value=2**45)


@given(span=SPANS, lo=st.integers(-(2**50), 2**50), base=st.integers(0, 1000), flag=st.booleans(),
       data=st.data())
def test_pack_unpack_round_trip_and_order(span: int, lo: int, base: int, flag: bool, data) -> None:
    key = StoreTimeKey.for_span(lo, lo + span, base=base, flag=flag)
    top = base + min(2**key.code_bits - 1, 10**6)
    assert key.fits(top) and not key.fits(base + 2**key.code_bits)
    n = data.draw(st.integers(1, 40))
    code = np.array(data.draw(st.lists(st.integers(base, top), min_size=n, max_size=n)), dtype=np.int64)
    time = np.array(data.draw(st.lists(st.integers(lo, lo + span), min_size=n, max_size=n)), dtype=np.int64)
    active = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    packed = key.pack(code, time, active)
    got_code, got_time, got_active = key.unpack(packed)
    assert (got_code == code).all() and (got_time == time).all()
    if flag:
        assert (got_active == active).all()
    else:
        assert got_active is None
    # Sorting the keys sorts by (code, time, status) — inactive first within an instant.
    expected = sorted(zip(code.tolist(), time.tolist(), active.tolist() if flag else [0] * n))
    order = np.argsort(packed, kind="stable")
    assert list(zip(code[order].tolist(), time[order].tolist(),
                    (active[order].tolist() if flag else [0] * n))) == expected
    # The in-place form writes the same keys; the unflagged part equals the packing without flag.
    out = np.empty(n, dtype=np.int64)
    key.pack_into(out, code, time, active.astype(np.int64) if flag else None)
    assert (out == packed).all()
    assert (key.unflagged(packed) == key.without_flag().pack(code, time)).all()


def test_a_scalar_time_is_broadcast_and_a_span_too_long_does_not_fit() -> None:
    key = StoreTimeKey.for_span(1_000, 1_000 + 2**41)
    assert key.time_bits == 42 and key.code_bits == 21
    assert (key.pack(np.array([0, 3]), 1_005) == np.array([5, (3 << 42) + 5])).all()
    assert not StoreTimeKey.for_span(0, 2**63 - 1, flag=True).fits(0)


def test_status_of_an_unflagged_packing_is_an_error() -> None:
    key = StoreTimeKey.for_span(0, 10)
    try:
        key.active(np.array([1]))
    except ValueError:
        return
    raise AssertionError("an unflagged packing has no status bit")
