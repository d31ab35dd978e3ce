"""SQLite writers of one process queue on a lock of their own (models/db.py) instead of SQLite's
busy handler, whose sleeps let a steady stream of writers starve one of them: a second writer's
BEGIN waits for the first writer's end, readers never wait, and a transaction that fails lets the
next writer in."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text

from models.db import init_schema, make_engine, read_tx, write_tx


@pytest.fixture()
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_schema(engine)
    yield engine
    engine.dispose()


def test_a_second_writer_begins_only_after_the_first_ends(engine) -> None:
    seen: list[str] = []
    begun = threading.Event()

    @event.listens_for(engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("BEGIN IMMEDIATE") and threading.current_thread().name == "second":
            seen.append("second BEGIN")
            begun.set()

    def second() -> None:
        with write_tx(engine) as conn:
            conn.execute(text("INSERT INTO poll_bounds (id, latest_us) VALUES (2, 2)"))

    with write_tx(engine) as conn:
        conn.execute(text("INSERT INTO poll_bounds (id, latest_us) VALUES (1, 1)"))
        thread = threading.Thread(target=second, name="second")
        thread.start()
        # Without the queue the second writer's BEGIN runs now (and waits inside SQLite): give it
        # every chance to show up before this writer ends.
        assert not begun.wait(0.5)
        with read_tx(engine) as reader:  # readers are not queued behind writers
            assert reader.execute(text("SELECT COUNT(*) FROM poll_bounds")).scalar() == 0
        seen.append("first ends")
    thread.join(30)
    assert not thread.is_alive()
    assert seen == ["first ends", "second BEGIN"]
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM poll_bounds")).scalar() == 2


def test_a_failed_write_lets_the_next_writer_in(engine) -> None:
    with pytest.raises(ZeroDivisionError):
        with write_tx(engine) as conn:
            conn.execute(text("INSERT INTO poll_bounds (id, latest_us) VALUES (1, 1)"))
            raise ZeroDivisionError
    done = threading.Event()

    def other() -> None:
        with write_tx(engine) as conn:
            conn.execute(text("INSERT INTO poll_bounds (id, latest_us) VALUES (3, 3)"))
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    assert done.wait(30)  # the queue was left (a leak would hold it for the 60 s busy timeout)
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT id FROM poll_bounds")).scalars().all() == [3]


def test_an_invalidated_writer_lets_the_next_writer_in(engine) -> None:
    """A connection dropped mid-transaction (invalidated, never committed or rolled back through
    SQLAlchemy) releases the queue too."""
    conn = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    conn.begin()
    conn.execute(text("INSERT INTO poll_bounds (id, latest_us) VALUES (1, 1)"))
    conn.invalidate()  # its transaction is not ended yet: only the invalidation frees the queue
    done = threading.Event()

    def other() -> None:
        with write_tx(engine) as tx:
            tx.execute(text("INSERT INTO poll_bounds (id, latest_us) VALUES (4, 4)"))
        done.set()

    threading.Thread(target=other).start()
    assert done.wait(30)
    conn.close()
    with read_tx(engine) as reader:
        assert reader.execute(text("SELECT id FROM poll_bounds")).scalars().all() == [4]
