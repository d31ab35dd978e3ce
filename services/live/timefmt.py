"""The service clock and the instants of live answers: UTC epoch µs in, ISO-8601 with `Z` out."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def now_us() -> int:
    """The service clock (SPEC 10: live status runs on it, not on the newest poll)."""
    return time.time_ns() // 1_000


def iso_z(micros: int) -> str:
    """`2023-01-22T12:09:39Z`, with the fraction only when there is one."""
    moment = _EPOCH + timedelta(microseconds=int(micros))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
