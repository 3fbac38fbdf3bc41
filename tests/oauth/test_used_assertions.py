"""The record of used jtis (models/used_assertions.py, RFC 7523 §3 item 7).

On a SQLite file each process inserts on a sqlite3 connection of its own (JtiWriter); these tests
hold it to what the SQLAlchemy path did: the same stored bytes, replay and deleted applications
refused without an exception, expiry, one connection per process, closed with the engine. On
PostgreSQL the insert still goes through SQLAlchemy Core.
"""
import os
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask_migrate import upgrade
from sqlalchemy import event

from models import Client, UsedAssertion, db, sqlite_tuning
from models import used_assertions as used
from models.applications import find_application
from models.used_assertions import (
    delete_expired_jti,
    insert_jti,
    insert_jti_through_engine,
    jti_kept_until,
    jti_writer,
    purge_used_assertions,
)
from tests.conftest import _make_app
from tests.e2e.postgres import find_postgres_bin, postgres_server
from tests.factories import make_app

# A day ahead, not minutes: the constant is computed at import, and the whole suite takes minutes.
TOMORROW = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
def client_pk(app):
    client_id, _ = make_app(app)
    with app.app_context():
        return find_application(client_id).id


def stored(jti: str):
    """The row of a jti: its expires_at as stored (the text in SQLite) and as the ORM reads it."""
    with db.engine.connect() as connection:
        text = connection.exec_driver_sql("SELECT expires_at FROM used_assertions WHERE jti = ?", (jti,)).scalar()
    record = db.session.execute(db.select(UsedAssertion).where(UsedAssertion.jti == jti)).scalar_one()
    db.session.remove()
    return text, record.expires_at


def test_on_a_sqlite_file_the_insert_uses_the_process_own_connection(app, client_pk):
    seen = []
    with app.app_context():
        writer = jti_writer(db.engine)
        assert writer is not None
        writer.connection().set_trace_callback(seen.append)
        assert insert_jti(client_pk, "own", TOMORROW)
        writer.connection().set_trace_callback(None)
    assert used.SQLITE_INSERT_JTI_SQL == ("INSERT INTO used_assertions (client_pk, jti, expires_at) VALUES (?, ?, ?) "
                                          "ON CONFLICT (client_pk, jti) DO NOTHING RETURNING id")
    # One statement, traced with its parameters bound: expires_at as SQLite's DATETIME text, in UTC.
    bound = f"({client_pk}, 'own', '{TOMORROW:%Y-%m-%d %H:%M:%S.%f}')"
    assert seen == [used.SQLITE_INSERT_JTI_SQL.replace("(?, ?, ?)", bound)]


def test_the_own_connection_stores_expires_at_byte_for_byte_as_sqlalchemy(app, client_pk):
    """The column type converts it on both paths: to UTC, then SQLite's DATETIME text."""
    expires_at = datetime(2031, 5, 6, 9, 8, 7, 123456, tzinfo=timezone(timedelta(hours=2)))
    with app.app_context():
        assert insert_jti(client_pk, "own", expires_at)
        assert insert_jti_through_engine(db.engine, client_pk, "through-engine", expires_at)
        own, through_engine = stored("own"), stored("through-engine")
    assert own == through_engine == ("2031-05-06 07:08:07.123456", expires_at)
    assert own[1].tzinfo is UTC


def test_a_second_insert_of_the_same_jti_returns_false(app, client_pk):
    other_client_id, _ = make_app(app, name="Other application")
    with app.app_context():
        other_pk = find_application(other_client_id).id
        assert insert_jti(client_pk, "once", TOMORROW)
        assert not insert_jti(client_pk, "once", TOMORROW)
        assert not insert_jti_through_engine(db.engine, client_pk, "once", TOMORROW)
        assert insert_jti(other_pk, "once", TOMORROW)  # once per application
        assert db.session.execute(db.select(db.func.count()).select_from(UsedAssertion)).scalar() == 2


def test_an_insert_for_a_deleted_application_returns_false(app, client_pk):
    """The application was deleted while its request ran: the foreign key refuses the row."""
    with app.app_context():
        db.session.delete(db.session.get(Client, client_pk))
        db.session.commit()
        assert not insert_jti(client_pk, "orphan", TOMORROW)
        assert insert_jti(client_pk + 1000, "never-an-application", TOMORROW) is False
        assert db.session.execute(db.select(UsedAssertion)).scalars().all() == []


def test_an_expired_record_is_deleted_and_its_jti_accepted_again(app, client_pk):
    with app.app_context():
        assert insert_jti(client_pk, "old", datetime.now(UTC) - timedelta(seconds=1))
        assert insert_jti(client_pk, "current", TOMORROW)
        assert not insert_jti(client_pk, "old", TOMORROW)
        assert not delete_expired_jti(client_pk, "current")  # its time is not up
        assert jti_kept_until(client_pk, "current") == f"{TOMORROW:%H:%M:%S} UTC"
        assert delete_expired_jti(client_pk, "old")
        assert insert_jti(client_pk, "old", TOMORROW)
        assert stored("old")[1] == TOMORROW


def test_the_purge_removes_expired_records_written_on_the_own_connection(app, client_pk):
    now = datetime.now(UTC)
    with app.app_context():
        for jti, offset in (("gone", -1), ("kept", 60)):
            assert insert_jti(client_pk, jti, now + timedelta(seconds=offset))
        assert purge_used_assertions() == 1
        assert db.session.execute(db.select(UsedAssertion.jti)).scalars().all() == ["kept"]


def test_a_forked_process_opens_its_own_connection_and_the_parent_sees_its_insert(app, client_pk):
    """gunicorn forks workers from the process that built the app: a SQLite connection must not
    cross a fork, so the child opens its own and leaves the inherited one alone."""
    with app.app_context():
        assert insert_jti(client_pk, "parent-before", TOMORROW)
        writer = jti_writer(db.engine)
        parent_connection = writer.connection()
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only, never return into pytest
            status = 1
            try:
                inherited_count = len(sqlite_tuning.INHERITED)
                if insert_jti(client_pk, "child", TOMORROW) and not insert_jti(client_pk, "parent-before",
                                                                                     TOMORROW):
                    own = jti_writer(db.engine).connection()
                    inherited_ok = sqlite_tuning.INHERITED[inherited_count:] == [parent_connection]
                    status = 0 if own is not parent_connection and inherited_ok else 2
            finally:
                os._exit(status)
        exit_status = wait_for(pid, seconds=30)
        assert exit_status == 0
        assert writer.connection() is parent_connection  # the parent keeps its own
        assert stored("child")[1] == TOMORROW
        assert not insert_jti(client_pk, "child", TOMORROW)
        assert insert_jti(client_pk, "parent-after", TOMORROW)


def wait_for(pid: int, seconds: float) -> int:
    """The exit status of a child process, killing it if it has not ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child did not end within {seconds} s")


def test_threads_share_the_connection_and_each_jti_wins_once(app, client_pk):
    jtis = [uuid.uuid4().hex for _ in range(20)]
    wins = []

    def insert_all():
        with app.app_context():
            wins.extend(jti for jti in jtis if insert_jti(client_pk, jti, TOMORROW))

    threads = [threading.Thread(target=insert_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(wins) == sorted(jtis)


def test_disposing_the_engine_closes_the_writer_connection(app, client_pk):
    """Its connection ends with the engine's (test teardown, shutdown); the next insert opens another."""
    with app.app_context():
        assert insert_jti(client_pk, "before", TOMORROW)
        closed = jti_writer(db.engine).connection()
        db.engine.dispose()
        with pytest.raises(sqlite3.ProgrammingError):
            closed.execute("SELECT 1")
        assert insert_jti(client_pk, "after", TOMORROW)
        assert jti_writer(db.engine).connection() is not closed


# --- PostgreSQL ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgres_url():
    if find_postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    with postgres_server() as url:
        yield url


@pytest.mark.e2e
def test_on_postgresql_the_insert_goes_through_sqlalchemy_core(tmp_path, postgres_url):
    app = _make_app(tmp_path / "instance", SQLALCHEMY_DATABASE_URI=postgres_url)
    statements = []
    with app.app_context():
        upgrade()
        engine = db.engine
        assert jti_writer(engine) is None
        client_id, _ = make_app(app)
        client_pk = find_application(client_id).id
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        expires_at = datetime(2031, 5, 6, 9, 8, 7, 123456, tzinfo=timezone(timedelta(hours=2)))
        assert insert_jti(client_pk, "pg", expires_at)
        assert not insert_jti(client_pk, "pg", expires_at)
        assert statements[0].startswith("INSERT INTO used_assertions (client_pk, jti, expires_at) VALUES "
                                        "(%(client_pk)s::INTEGER, %(jti)s::VARCHAR, %(expires_at)s::TIMESTAMP WITH "
                                        "TIME ZONE) ON CONFLICT (client_pk, jti) DO NOTHING RETURNING")
        assert stored_on_postgresql("pg") == expires_at
        assert insert_jti(client_pk, "old", datetime.now(UTC) - timedelta(seconds=1))
        assert delete_expired_jti(client_pk, "old") and insert_jti(client_pk, "old", TOMORROW)
        assert insert_jti(client_pk + 1000, "never-an-application", TOMORROW) is False
        db.engine.dispose()


def stored_on_postgresql(jti: str) -> datetime:
    record = db.session.execute(db.select(UsedAssertion).where(UsedAssertion.jti == jti)).scalar_one()
    db.session.remove()
    return record.expires_at
