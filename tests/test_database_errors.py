"""A database that stops answering in the middle of a read is the service's one
database-unavailable error: 503 JSON with Retry-After over HTTP, a DBAPIError for the background
loops, never a 500 or a raw driver error, even from the raw DB-API cursors of the hot reads."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app import create_app
from config import Config
from conftest import SPEC_EXAMPLES
from models.db import init_schema, make_engine, read_session, read_tx, write_session, write_tx
from runtime import runtime_of
from services.ingest.loader import load_directory
from services.reports.inputs import InputsCache
from support.cutting_proxy import CuttingProxy


@pytest.mark.mysql
def test_connection_cut_during_a_raw_read_is_503(mysql_url: str, tmp_path: Path) -> None:
    direct = make_engine(mysql_url)
    try:
        init_schema(direct)
        load_directory(direct, SPEC_EXAMPLES / "ex7")
    finally:
        direct.dispose()
    url = make_url(mysql_url)
    proxy = CuttingProxy(url.host or "127.0.0.1", url.port or 3306)
    (tmp_path / "csv").mkdir()
    app = create_app(Config(
        database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        csv_dir=tmp_path / "csv", report_dir=tmp_path / "reports", reload_interval_seconds=0, report_workers=1,
    ))
    try:
        client = app.test_client()
        assert client.get("/stores/r1/availability").status_code == 200
        runtime_of(app).runner.context.cache = InputsCache()  # the next answer must read the database
        # The stores of the inputs read: the first statement of models/report_inputs.py's raw cursor.
        proxy.cut_on(b"SELECT id, store_id, first_poll_us FROM stores WHERE")
        answer = client.get("/stores/r2/availability")
        assert proxy.cuts == 1, "the read did not go through the raw cursor's statement"
        assert answer.status_code == 503, answer.get_data()[:300]
        assert answer.mimetype == "application/json" and answer.headers["Retry-After"]
        assert "database unavailable" in answer.get_json()["error"]
        assert client.get("/stores/r2/availability").status_code == 200  # a new connection serves again
    finally:
        runtime_of(app).close()
        proxy.close()


def test_driver_errors_of_raw_cursors_are_dbapi_errors(database_url: str) -> None:
    """Raw DB-API cursors inside the transaction scopes of models/db.py: the driver's own exception comes out as
    SQLAlchemy's DBAPIError, which the HTTP handler (503) and the background loops catch."""
    engine = make_engine(database_url)
    try:
        for scope in (read_tx, write_tx, read_session, write_session):
            with pytest.raises(DBAPIError) as caught:
                with scope(engine) as conn:
                    connection = conn.connection() if isinstance(conn, Session) else conn.connection
                    cursor = connection.connection.cursor() if isinstance(conn, Session) else connection.cursor()
                    cursor.execute("SELECT missing_column FROM no_such_table")
            assert type(caught.value.orig).__module__.split(".")[0] in ("sqlite3", "pymysql")
    finally:
        engine.dispose()
