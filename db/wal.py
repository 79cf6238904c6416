"""SQLite's write-ahead log copied into the database file by a background thread, not by the writer.

Why: in WAL mode SQLite's own auto-checkpoint runs inside the COMMIT that takes the log past 1,000
pages, so the night's writer stops to copy every page it dirtied into the database file before it can
read the next file. The pages a night dirties grow with the tables: new items land all over the
indexes keyed by card, client and provider id, one page each, and a longer history has more pages to
land on. On a 60-day history of 10,000 cards the checkpoint was 1.3 s of a 12 s night (0.2 s on the
first night). PostgreSQL does this in its own background checkpointer; here one thread per database
file does it, woken whenever a connection goes back to the pool (after a commit), with its own
connection and PASSIVE checkpoints, which never wait for or block readers and writers.

The log restarts from its beginning when a writer begins after a complete checkpoint. Writes that come
back to back can each begin while the last is still being copied, so past ``WAL_BACKPRESSURE_BYTES`` a
writer waits for the thread first (``before_write``): the log stays bounded, and a night of ordinary
size never waits.

Nothing about durability changes: a commit is in the log either way, a checkpoint copies committed
pages only, and SQLite survives a checkpoint cut short (a crash) by running it again from the log.
If the process ends before the thread has caught up, the log is simply longer until the next
checkpoint (any later connection's, or SQLite's own when the last connection closes).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Checkpoints are off in the connections our engine opens (``db.engine``); this thread does them.
AUTOCHECKPOINT_PRAGMA = "PRAGMA wal_autocheckpoint=0"
# A writer about to begin waits for the thread to catch up only when the log has grown past this. SQLite
# starts the log again from its beginning when a writer begins after a complete checkpoint; writes that
# come back to back (a night's files, one after another) each begin while the last is still being copied,
# so without this the log would hold every write since the last quiet moment (11 GB after a benchmark's
# 58 copied days), and every page read looks through an index of the whole log. A night of 50,000 items
# writes about 270 MB and never waits; a million-item night waits about as often as SQLite's own
# checkpoints made it wait before.
WAL_BACKPRESSURE_BYTES = 512 * 2**20


class WalCheckpointer:
    """One database file's background checkpointer: ``wake()`` after writes, ``drain()`` to wait for it.

    The thread is started on the first ``wake()`` in a process (a forked Airflow task starts its own)
    and is a daemon: it never keeps a process alive.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._new_thread_state()
        self._pid = 0
        self.wal_path = self.path.with_name(self.path.name + "-wal")
        self.checkpoints = 0  # how many ran (tests and benchmarks read these)
        self.frames_copied = 0
        self.waits = 0  # how many times a writer waited for the thread (before_write)

    def _new_thread_state(self) -> None:
        """No thread yet, idle, with locks and events of this process (at start, and in a forked child)."""
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """There may be new pages in the log: copy them soon."""
        with self._lock:
            self._idle.clear()
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint:{self.path.name}", daemon=True)
                self._thread.start()
            self._wake.set()

    def before_write(self) -> None:
        """Called as a transaction begins: past ``WAL_BACKPRESSURE_BYTES`` of log, wait for the thread to
        copy it, so that this writer starts the log again from its beginning."""
        try:
            size = os.stat(self.wal_path).st_size
        except FileNotFoundError:
            return
        if size > WAL_BACKPRESSURE_BYTES:
            self.waits += 1
            self.drain()

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until a checkpoint has run since this call (True), or time out: every page committed before
        it is then in the database file, except what a reader still using an older snapshot holds back."""
        self.wake()
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(AUTOCHECKPOINT_PRAGMA)
            while True:
                self._wake.wait()
                self._wake.clear()
                try:
                    _busy, _log_frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # a log being recovered, a file gone: try again on the next wake
                    log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
                    copied = 0
                self.checkpoints += 1
                self.frames_copied += max(copied, 0)
                with self._lock:
                    if not self._wake.is_set():
                        self._idle.set()
        finally:  # pragma: no cover - a daemon thread ends with its process
            conn.close()


_checkpointers: dict[Path, WalCheckpointer] = {}
_registry_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child (an Airflow task) gets fresh locks and events: the parent's thread may have held
    one at the moment of the fork, and a copied lock held by a thread that does not exist in the child
    would make its first commit wait for ever. The child's first ``wake`` starts its own thread."""
    global _registry_lock
    _registry_lock = threading.Lock()
    for checkpointer in _checkpointers.values():
        checkpointer._new_thread_state()


os.register_at_fork(after_in_child=_after_fork_in_child)


def checkpointer_for(path: Path) -> WalCheckpointer:
    """The one checkpointer of this database file in this process."""
    key = Path(path).resolve()
    with _registry_lock:
        if key not in _checkpointers:
            _checkpointers[key] = WalCheckpointer(key)
        return _checkpointers[key]
