"""SQLite connection settings, applied to each new connection of an app's SQLite engine.

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
    """The pragmas on one connection (the engine's, or one opened outside it: models/client_snapshots.py)."""
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
