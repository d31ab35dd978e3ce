"""Regular poll files for storage tests: every store polled on a fixed grid up to a newest instant."""
from __future__ import annotations

from datetime import datetime, timedelta


def grid_polls_csv(newest: datetime, *, days: int, stores: int, every_hours: int, offset_minutes: int,
                   inactive_every: int) -> str:
    """store_status.csv text: stores s0…s{n-1}, one poll each every `every_hours` from `newest − days`
    to `newest`, store i shifted by i × `offset_minutes`; inactive when (hour + i) % `inactive_every` == 0."""
    lines = ["store_id,status,timestamp_utc"]
    t = newest - timedelta(days=days)
    while t <= newest:
        for i in range(stores):
            status = "inactive" if (t.hour + i) % inactive_every == 0 else "active"
            stamp = (t + timedelta(minutes=offset_minutes * i)).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"s{i},{status},{stamp} UTC")
        t += timedelta(hours=every_hours)
    return "\n".join(lines) + "\n"
