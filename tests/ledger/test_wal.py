"""Goal: on SQLite, committing never copies the write-ahead log into the database file itself (a night's
writer does not wait for it, db.wal); a background thread does, soon after, so what was committed
reaches the database file without anyone asking; and nothing changes for readers or for durability."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import threading

import pytest
from sqlalchemy import text

from db.engine import get_engine, sqlite_file
from db.wal import WalCheckpointer, checkpointer_for


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    yield url
    get_engine(url).dispose()


def _rows_in_database_file_alone(path, tmp_path) -> int:
    """Rows of table t in the database file without its log: what a checkpoint has copied so far."""
    alone = tmp_path / f"alone-{next(_copies)}.db"
    shutil.copyfile(path, alone)  # the -wal file is not copied, so only checkpointed pages are seen
    conn = sqlite3.connect(alone)
    try:
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        conn.close()


_copies = itertools.count()


def test_commits_leave_the_log_to_the_background_checkpointer(sqlite_url, tmp_path):
    engine = get_engine(sqlite_url)
    path = sqlite_file(engine)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0  # a commit never checkpoints
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    checkpointer = checkpointer_for(path)
    assert checkpointer.drain(timeout_s=30)
    before = checkpointer.frames_copied
    for batch in range(5):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"{batch}-{i}" * 20} for i in range(2_000)])
    assert checkpointer.drain(timeout_s=30)
    assert checkpointer.frames_copied > before
    # Everything committed is in the database file itself, not only in the log.
    assert _rows_in_database_file_alone(path, tmp_path) == 10_000
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 10_000


def test_without_the_checkpointer_the_commits_stay_in_the_log(tmp_path):
    # The control for the test above: with checkpoints off and no thread to do them, the database file
    # alone does not have the rows, so that test's check could fail.
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the empty table is in the file
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(str(i) * 20,) for i in range(10_000)])
    keep_open = sqlite3.connect(path)  # the last connection to close would checkpoint
    try:
        assert _rows_in_database_file_alone(path, tmp_path) == 0
        checkpointer = WalCheckpointer(path)
        assert checkpointer.drain(timeout_s=30)
        assert _rows_in_database_file_alone(path, tmp_path) == 10_000
    finally:
        keep_open.close()
        conn.close()


def test_a_reader_sees_every_commit_while_the_checkpointer_runs(sqlite_url):
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    seen: list[int] = []
    for _ in range(20):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 200} for _ in range(500)])
        with engine.connect() as conn:  # a checkpoint may be copying the log meanwhile
            seen.append(conn.execute(text("SELECT count(*) FROM t")).scalar_one())
    assert seen == [500 * b for b in range(1, 21)]


def test_a_new_process_starts_its_own_thread(tmp_path, monkeypatch):
    # A forked Airflow task inherits the registry but not the thread: the first wake there starts one.
    path = tmp_path / "forked.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    checkpointer = WalCheckpointer(path)
    assert checkpointer.drain(timeout_s=30)
    first = checkpointer._thread
    monkeypatch.setattr("db.wal.os.getpid", lambda: -1)
    assert checkpointer.drain(timeout_s=30)
    assert checkpointer._thread is not first and checkpointer._thread.is_alive()
    assert checkpointer._thread.daemon  # never keeps a process alive
    assert any(t is checkpointer._thread for t in threading.enumerate())


def test_a_writer_waits_for_the_checkpointer_only_past_the_log_size_limit(sqlite_url, monkeypatch):
    # Back-to-back writes each begin while the last is still being copied, so SQLite never starts the log
    # again. Past WAL_BACKPRESSURE_BYTES a writer waits for the thread; after that wait its writes start the
    # log from its beginning.
    import os

    import db.wal

    engine = get_engine(sqlite_url)
    checkpointer = checkpointer_for(sqlite_file(engine))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": os.urandom(100_000)} for _ in range(50)])
    waits = checkpointer.waits
    monkeypatch.setattr(db.wal, "WAL_BACKPRESSURE_BYTES", 10 * 2**30)  # far above this log: no waiting
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    assert checkpointer.waits == waits
    monkeypatch.setattr(db.wal, "WAL_BACKPRESSURE_BYTES", 2**20)  # 1 MB: this log is past it
    assert checkpointer.wal_path.stat().st_size > 2**20
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": b"x"})
    assert checkpointer.waits == waits + 1
    assert checkpointer.drain(timeout_s=30)  # the thread idle: the probe's checkpoint does not meet its own
    probe = sqlite3.connect(sqlite_file(engine))
    try:
        _busy, log_frames, _copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        probe.close()
    assert 0 < log_frames < 10, log_frames  # the log holds the last write only: it was started again


def test_a_forked_child_can_wake_its_checkpointer_whatever_the_parent_held(tmp_path):
    # A fork copies locks as they are: had the parent's thread held one at that moment, the child's first
    # commit would wait on it for ever. The child gets fresh locks (os.register_at_fork) and its own thread.
    import os
    import signal

    path = tmp_path / "fork.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    checkpointer = checkpointer_for(path)
    assert checkpointer.drain(timeout_s=30)
    checkpointer._lock.acquire()  # as if the parent's thread held it when the fork happened
    try:
        pid = os.fork()
        if pid == 0:  # the child: must not hang (killed after 20 s if it does), and must checkpoint
            signal.alarm(20)
            ok = checkpointer.drain(timeout_s=20)
            os._exit(0 if ok and checkpointer._thread is not None and checkpointer._thread.is_alive() else 1)
    finally:
        checkpointer._lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
