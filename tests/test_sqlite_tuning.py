"""Which engines get a writer of the process's own beside the engine (models/sqlite_tuning.py):
only a plain SQLite file. The jti store and the event writer decide it the same way."""
import pytest
from sqlalchemy import create_engine

from models.auth_event import event_writer
from models.used_assertions import jti_store


@pytest.mark.parametrize("writer_for", [jti_store, event_writer], ids=["jti", "events"])
@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///some.db?timeout=5",
                                 "postgresql+psycopg://appcreds@127.0.0.1/appcreds"])
def test_no_own_connection_but_for_a_plain_sqlite_file(url, writer_for):
    """In memory, the database lives in the engine's connection; URI options a plain sqlite3.connect
    would ignore; PostgreSQL: SQLAlchemy Core, as before."""
    engine = create_engine(url)
    try:
        assert writer_for(engine) is None
    finally:
        engine.dispose()
