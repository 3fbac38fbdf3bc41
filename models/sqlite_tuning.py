"""SQLite connection settings, applied to each new connection of an app's SQLite engine, and
the connections a process opens of its own beside the engine (`own_connection`, `OwnConnection`).

WAL lets readers run beside the writer; synchronous=NORMAL skips the fsync per commit (a
committed transaction survives a crash of the process, not of the machine); foreign keys on;
a writer waits up to 10 s for the lock instead of failing at once.
"""
import sqlite3
import threading
from collections.abc import Callable
from os import getpid

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine

PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000")


def tune_sqlite_engine(engine: Engine) -> None:
    """Register the pragmas on `engine` (once; a no-op for other databases)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _set_pragmas):
        event.listen(engine, "connect", _set_pragmas)


def _set_pragmas(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        apply_pragmas(dbapi_connection)


def apply_pragmas(connection: sqlite3.Connection) -> None:
    """The pragmas on one connection: the engine's, or one opened beside it (own_connection)."""
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def sqlite_file_of(engine: Engine) -> str | None:
    """The engine's database file when it is a SQLite file without URI options; None otherwise."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or url.query:
        return None  # another database, an in-memory one, or options a plain sqlite3.connect would not honour
    return url.database


def own_connection(database_path: str) -> sqlite3.Connection:
    """A connection of one process's own, beside the engine's (OwnConnection): autocommit
    (isolation_level=None, no implicit BEGIN, so each statement is its own transaction and every read
    sees the latest commit), shared by the threads of its process (callers hold a lock), with the
    app's pragmas."""
    connection = sqlite3.connect(database_path, isolation_level=None, check_same_thread=False)
    apply_pragmas(connection)
    return connection


# Connections a parent process opened before a fork. A child never uses them and never closes them,
# not even by letting them be garbage-collected: closing could disturb the parent's locks and WAL
# (https://www.sqlite.org/howtocorrupt.html §2.6). At most one per OwnConnection per fork.
INHERITED: list[sqlite3.Connection] = []


class OwnConnection:
    """One process's own connection to a SQLite file (own_connection), beside the engine: for a
    writer, models/auth_event.py EventWriter; for models/client_snapshots.py CommitWatch (its
    `_open` makes the connection read-only); or, overriding `_open`, to a store kept beside that
    file: models/used_assertions.py JtiStore (LMDB).

    The connection belongs to the process that opened it: gunicorn builds the app and then forks
    its workers, and a SQLite connection must not cross a fork. A process's first use opens its
    own. A lock: threaded servers share the connection; a user holds `_lock` around
    `_own_connection()` and everything it sends on it.
    """

    def __init__(self, database_path: str):
        self.database_path = database_path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None

    def connection(self) -> sqlite3.Connection:
        """This process's own connection (tests trace the statements it sends)."""
        with self._lock:
            return self._own_connection()

    def close(self) -> None:
        """Close this process's connection; the next use opens another."""
        with self._lock:
            if self._connection is not None and self._pid == getpid():
                self._connection.close()
            elif self._connection is not None:
                self._leave_inherited(self._connection)  # the parent's
            self._connection, self._pid = None, None

    def _own_connection(self) -> sqlite3.Connection:
        if self._pid != getpid():
            if self._connection is not None:
                self._leave_inherited(self._connection)
            connection = self._open()
            self._connection, self._pid = connection, getpid()
        return self._connection

    def _open(self) -> sqlite3.Connection:
        return own_connection(self.database_path)

    def _leave_inherited(self, connection: sqlite3.Connection) -> None:
        INHERITED.append(connection)  # the parent's: kept, never used here


class WritersPerFile:
    """This process's writer of one kind for each SQLite file: `make(path, engine.dialect)` at the
    first call for an engine on that file, closed with the engine's connections (tests dispose one
    engine per app; shutdown)."""

    def __init__(self, make: Callable[[str, Dialect], OwnConnection]):
        self._make = make
        self._writers: dict[str, OwnConnection] = {}  # SQLite file -> this process's writer
        self._lock = threading.Lock()

    def for_engine(self, engine: Engine) -> OwnConnection | None:
        """The writer for the engine's SQLite file, or None when it is not one (sqlite_file_of)."""
        path = sqlite_file_of(engine)
        if path is None:
            return None
        writer = self._writers.get(path)
        if writer is None:
            with self._lock:
                writer = self._writers.get(path)
                if writer is None:
                    writer = self._writers[path] = self._make(path, engine.dialect)
                    if not event.contains(engine, "engine_disposed", self._close):
                        event.listen(engine, "engine_disposed", self._close)
        return writer

    def _close(self, engine: Engine) -> None:
        with self._lock:
            writer = self._writers.pop(engine.url.database, None)
        if writer is not None:
            writer.close()
