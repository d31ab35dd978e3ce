"""Engine creation and transaction scopes that behave the same on SQLite and MySQL.

Reports must read one consistent snapshot while a load commits, and the load, report jobs and
the API write concurrently. On SQLite that needs WAL, a busy timeout and real BEGIN statements
(pysqlite defers them); on MySQL, InnoDB's REPEATABLE READ snapshot does the work.
"""
from __future__ import annotations

import logging
import ssl
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import pymysql.connections
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models.base import Base  # noqa: F401  (re-exported with every table registered: migrations use it)
from models.poll_layout import ensure_layout
from models import tables  # noqa: F401  (registers the tables on Base.metadata)
from models import loads  # noqa: F401  (load bookkeeping tables)
from models import job_tables  # noqa: F401
from models import deliveries, schedules  # noqa: F401  (SPEC 7 tables; they use this module lazily)
from models import api_keys  # noqa: F401  (SPEC 8)
from models import closure_tables, live_tables  # noqa: F401  (SPEC 9, 10)
from models import live_state  # noqa: F401  (SPEC 10: live status and alerts)
from models.schema import migrate  # after the tables: migrations compare with them

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 60_000


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def redacted_url(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot parse has nothing worth showing
        return "<unparseable database URL>"


MYSQL_UNKNOWN_DATABASE = 1049


def describe_database_error(url: str, exc: BaseException, detail: bool = False) -> str:
    """One line for an operator: what failed and, for a missing MySQL database, how to fix it."""
    orig = getattr(exc, "orig", None) or exc
    code = orig.args[0] if getattr(orig, "args", None) else None
    parsed = make_url(url)
    if code == MYSQL_UNKNOWN_DATABASE and parsed.database:
        return (f"database {parsed.database!r} does not exist on {parsed.host}: create it with "
                f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4;")
    return f"database unreachable: {orig if detail else type(orig).__name__}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, **kwargs)
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        connect_args = {"local_infile": True, "connect_timeout": 10, **kwargs.pop("connect_args", {})}
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_recycle=3600, connect_args=connect_args, **kwargs
        )
        _preferred_tls_without_certificates(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _preferred_tls_without_certificates(engine: Engine) -> None:
    """Connections of PyMySQL's "preferred" TLS mode (no ssl options given: TLS when the server
    offers it, unverified) without loading the system's CA certificates, which that mode never
    uses: PyMySQL 1.2 builds a default context per connection, 49 ms of a 50 ms connect here,
    paid by every fresh Celery worker, shard reader and CLI command (issue 22). A URL with ssl
    options is left to PyMySQL."""

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Dialect, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if any(key.startswith("ssl") for key in cparams):
            return None  # SQLAlchemy connects as usual
        return _PreferredTlsConnection(*cargs, **cparams)


def _unverified_tls_context() -> ssl.SSLContext:
    """What PyMySQL's preferred mode ends up with (no CA: no verification), built without
    loading certificates; a context is cheap then (microseconds), so each connection gets its own."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _PreferredTlsConnection(pymysql.connections.Connection):
    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if sslp == {}:  # the preferred mode's call (explicit options never reach here empty)
            return _unverified_tls_context()
        return super()._create_ssl_ctx(sslp)


def _make_sqlite_engine(url: str, **kwargs: Any) -> Engine:
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below emit BEGIN itself, so that a report's reads share
        # one snapshot and writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "foreign_keys=ON",
            "temp_store=MEMORY",
            "cache_size=-65536",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    # This process's writers queue on a lock of their own before SQLite's: a writer that finds
    # SQLite's lock taken sleeps in its busy handler (backing off to 100 ms a try) while the
    # others keep taking the lock, so under a steady stream of live batches the alert evaluator's
    # write waited seconds. Bounded by the busy timeout: a lock never released (a bug) cannot
    # hang writers; they go on to SQLite's own waiting.
    writers = threading.Lock()  # released by whichever thread ends the transaction

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        queued = mode != "DEFERRED" and writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        if queued:
            conn.info[_HOLDS_WRITERS] = writers
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            _leave(conn)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        _leave(conn)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Connection) -> None:
        _leave(conn)

    # Safety nets: a connection invalidated or handed back to the pool with its transaction never
    # ended through SQLAlchemy still lets the next writer in (Connection.info is the record's).
    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        _release(record.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info)

    return engine


_HOLDS_WRITERS = "store_monitor_writers"


def _leave(conn: Connection) -> None:
    """Release the process's writer lock if this connection's transaction holds it (an
    invalidated one released it then, and has no info to read now)."""
    if not conn.invalidated and not conn.closed:
        _release(conn.info)


def _release(info: dict[str, Any]) -> None:
    writers = info.pop(_HOLDS_WRITERS, None)
    if writers is not None:
        writers.release()


@contextmanager
def driver_errors_wrapped(dialect: Dialect) -> Iterator[None]:
    """The driver's own errors (sqlite3.Error, pymysql.err.Error) as SQLAlchemy's DBAPIError.

    The hot paths use raw DB-API cursors for speed (models/report_inputs.py's packed reads,
    store_data.executemany); what they raise bypasses SQLAlchemy's wrapping, so the HTTP layer's
    503, the CLI's message and the background loops, which all expect DBAPIError, missed it.
    Every transaction scope below applies this once, so no raw-cursor call site needs to.
    """
    dbapi_error = getattr(dialect.dbapi, "Error", None)
    try:
        yield
    except DBAPIError:
        raise
    except Exception as exc:
        if dbapi_error is None or not isinstance(exc, dbapi_error):
            raise
        raise DBAPIError.instance(None, None, exc, dbapi_error, dialect=dialect) from exc


DEADLOCK_ATTEMPTS = 5  # a victim run again this many times in all before its error is raised


def is_deadlock(exc: BaseException) -> bool:
    """InnoDB chose this transaction as a deadlock's victim and rolled it back whole: running it
    again is safe (ER_LOCK_DEADLOCK, 1213). Live writes and a CSV load meet on the same keys."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", None)
    return bool(args) and args[0] == 1213


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock at BEGIN (no upgrade deadlocks)."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin(), \
            driver_errors_wrapped(engine.dialect):
        yield conn


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read transaction: every query inside sees the same committed state."""
    with engine.connect() as conn, conn.begin():
        if not is_sqlite(engine):
            # A statement rather than execution_options(isolation_level=...): SQLAlchemy sets and
            # resets that option on the raw DB-API connection without wrapping its errors, so a
            # server that goes away gave raw pymysql errors instead of the DBAPIError every caller
            # handles (HTTP 503, a report failed with "database error").
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with driver_errors_wrapped(engine.dialect):
            yield conn


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    with Session(engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False) as s, s.begin(), \
            driver_errors_wrapped(engine.dialect):
        yield s


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s, s.begin(), driver_errors_wrapped(engine.dialect):
        yield s


SCHEMA_LOCK_NAME = "store_monitor_schema"
SCHEMA_ATTEMPTS = 5
SCHEMA_LOCK_WAIT_SECONDS = 600  # a migration that builds an index on a big polls table takes minutes


def init_schema(engine: Engine) -> tuple[str | None, str]:
    """Create or migrate the schema to the newest revision (models/schema.py); safe when several
    processes start together. Returns the revisions (before, after).

    MySQL: a named server lock, held on the migration connection, serialises the migrations
    (each DDL commits on its own, so a transaction cannot): the first process migrates, the
    others find the database at head. SQLite: one IMMEDIATE transaction holds the write lock
    while the migrations run (SQLite's DDL is transactional), and others wait for it (busy
    timeout). A process that still trips over another's work checks again.
    """
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            if is_sqlite(engine):
                with write_tx(engine) as conn:
                    revisions = migrate(conn)
                    ensure_layout(conn)
            elif engine.dialect.name in ("mysql", "mariadb"):
                with engine.connect() as conn:
                    got = conn.execute(text("SELECT GET_LOCK(:name, :wait)"),
                                       {"name": _schema_lock_name(engine), "wait": SCHEMA_LOCK_WAIT_SECONDS}).scalar()
                    try:
                        if got != 1:
                            raise RuntimeError(f"another process held the schema lock for {SCHEMA_LOCK_WAIT_SECONDS}s")
                        conn.commit()  # DDL commits on its own in MySQL: no transaction to keep open
                        revisions = migrate(conn)
                        ensure_layout(conn)
                        conn.commit()
                    finally:
                        if got == 1:
                            conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _schema_lock_name(engine)})
                            conn.commit()
            else:
                with engine.begin() as conn:
                    revisions = migrate(conn)
            return revisions
        except Exception as exc:  # wrapped DB-API errors, or sqlite3's own from the connect hook
            reason = getattr(exc, "orig", None) or exc
            message = str(reason).lower()
            if attempt == SCHEMA_ATTEMPTS or not ("already exists" in message or "locked" in message):
                raise
            log.info("schema creation raced with another process (%s): checking again", reason)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _schema_lock_name(engine: Engine) -> str:
    return f"{SCHEMA_LOCK_NAME}:{engine.url.database}"[:64]
