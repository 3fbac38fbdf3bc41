"""SQLite connection settings, applied to each new connection of an app's SQLite engine, and
the connections a process opens of its own beside the engine (`own_connection`).

WAL lets readers run beside the writer; synchronous=NORMAL skips the fsync per commit (a
committed transaction survives a crash of the process, not of the machine); foreign keys on;
a writer waits up to 10 s for the lock instead of failing at once.
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

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
    """A connection of one process's own, beside the engine's (models/client_snapshots.py CommitWatch,
    models/used_assertions.py JtiWriter): autocommit (isolation_level=None, no implicit BEGIN, so each
    statement is its own transaction and every read sees the latest commit), shared by the threads of
    its process (callers hold a lock), with the app's pragmas."""
    connection = sqlite3.connect(database_path, isolation_level=None, check_same_thread=False)
    apply_pragmas(connection)
    return connection
