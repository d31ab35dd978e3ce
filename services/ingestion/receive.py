"""`POST /polls` as a service (SPEC 10): who may send polls, reading the body, committing them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from models.base import datetime_to_micros
from services.access.principal import Principal, require
from services.ingestion.poll_batch import parse_json_array, parse_ndjson
from services.ingestion.writer import commit_polls
from services.priority import report_priority


def receive_polls(engine: Engine, principal: Principal, body: bytes, ndjson: bool, now: datetime) -> dict[str, Any]:
    """Commit the valid polls of one request in one transaction; the answer of SPEC 10
    (`accepted` + `duplicates` + the number rejected = the polls sent)."""
    require(principal, "ingest")
    now_us = datetime_to_micros(now)
    with report_priority.live_work():  # a report of this process computing goes first
        parsed = parse_ndjson(body, now_us) if ndjson else parse_json_array(body, now_us)
        written = commit_polls(engine, parsed.store_ids, parsed.ts_us, parsed.active, now)
    return {
        "accepted": written.accepted,
        "duplicates": parsed.valid - written.accepted,
        "rejected": [{"index": index, "reason": reason} for index, reason in parsed.rejected],
    }
