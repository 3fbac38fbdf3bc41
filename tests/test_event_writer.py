"""The event log's writer on a SQLite file (models/auth_event.py EventWriter).

On a SQLite file each process writes its batches of events on a sqlite3 connection of its own;
these tests hold it to what the SQLAlchemy Core path did: the same stored values, column by
column, read back by the ORM as before; an event of a deleted application kept without its
client_pk; one connection per process, closed with the engine. PostgreSQL and in-memory SQLite
keep the Core path.
"""
import copy
import json
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from models import AuthEvent, Client, db, sqlite_tuning
from models.applications import find_application
from models.auth_event import EVENT_COLUMNS, SQLITE_INSERT_EVENTS_SQL, event_writer, insert_events_through_engine
from models.state import app_state
from tests.conftest import _make_app
from tests.factories import make_app
from tests.oauth.test_used_assertions import wait_for

INSPECTION = {
    "checks": [{"name": "signature", "expected": ["RS256", "PS256"], "saw": "RS256", "passed": True},
               {"name": "audience", "expected": None, "saw": ["https://é.example/", [1, 2.5, None]]}],
    "claims": {"sub": "client-ü", "note": "naïve — 日本語 \u2028 \"quoted\" \\", "nbf": None, "empty": {}},
}


@pytest.fixture
def app(instance_path):
    """The conftest app, without its check that every stored inspection is the inspector's truthful
    record: these tests store made-up inspections."""
    app = _make_app(instance_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client_pk(app):
    client_id, _ = make_app(app)
    with app.app_context():
        return find_application(client_id).id


def row(**fields) -> dict:
    """A buffered row as EventRecorder.record makes it: every column named."""
    return {column: fields.get(column) for column in EVENT_COLUMNS}


def rows_for(client_pk: int) -> list[dict]:
    return [
        row(created_at=datetime(2031, 5, 6, 9, 8, 7, 123456, tzinfo=timezone(timedelta(hours=2))),
            event_type="client_authentication", client_id_sent="client-ü", client_pk=client_pk, endpoint="token",
            method="private_key_jwt", outcome="failure", reason_code="bad_signature",
            reason="the signature does not verify ✗", source_ip="203.0.113.9", inspection=INSPECTION),
        row(created_at=datetime(2031, 5, 6, 7, 8, 7, 1, tzinfo=UTC), event_type="token_request",
            client_id_sent="nobody", endpoint="token", grant_type="client_credentials", outcome="success",
            reason_code="issued", reason="issued", inspection=None),
        row(created_at=datetime(2031, 5, 6, 7, 8, 7, tzinfo=UTC), event_type="settings_changed",
            client_id_sent="x", client_pk=client_pk, endpoint="cli", outcome="success", reason_code="settings_changed",
            reason="name changed\nfrom 'a' to 'b'", actor="command line", inspection={"list": [[], [None], "ß"]}),
    ]


def stored_rows(database_path: str) -> list[dict]:
    """Every row of auth_events as stored (its id left out), and the storage class of each value, read
    on a plain sqlite3 connection. By name: a migration that added a column added it at the end."""
    connection = sqlite3.connect(database_path)
    try:
        cursor = connection.execute("SELECT * FROM auth_events ORDER BY id")
        names = [description[0] for description in cursor.description]
        assert sorted(names) == sorted(["id", *EVENT_COLUMNS])
        stored = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        types = ", ".join(f"typeof({name})" for name in EVENT_COLUMNS)
        storage = connection.execute(f"SELECT {types} FROM auth_events ORDER BY id").fetchall()  # noqa: S608 (the model's own names)
    finally:
        connection.close()
    for values, classes in zip(stored, storage, strict=True):
        del values["id"]
        values.update({f"typeof {name}": storage_class
                       for name, storage_class in zip(EVENT_COLUMNS, classes, strict=True)})
    return stored


def empty_the_log(database_path: str) -> None:
    connection = sqlite3.connect(database_path, isolation_level=None)
    connection.execute("DELETE FROM auth_events")
    connection.close()


def test_on_a_sqlite_file_a_flush_is_one_transaction_on_the_process_own_connection(app, client_pk):
    seen, through_engine = [], []
    with app.app_context():
        engine = db.engine
        writer = event_writer(engine)
        assert writer is not None
        writer.connection().set_trace_callback(seen.append)
        event.listen(engine, "before_cursor_execute", lambda *args: through_engine.append(args[2]))
        writer.insert(rows_for(client_pk)[1:])
        writer.connection().set_trace_callback(None)
    assert SQLITE_INSERT_EVENTS_SQL == (
        "INSERT INTO auth_events (created_at, event_type, client_id_sent, client_pk, endpoint, method, grant_type, "
        "outcome, reason_code, reason, source_ip, actor, inspection) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    assert [statement.split(" (")[0] for statement in seen] == [
        "BEGIN IMMEDIATE", "INSERT INTO auth_events", "INSERT INTO auth_events", "COMMIT"]
    assert through_engine == []


def stored_both_ways(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The rows as stored by the own connection, then (the log emptied between) through SQLAlchemy Core."""
    database_path = db.engine.url.database
    event_writer(db.engine).insert(copy.deepcopy(rows))
    own = stored_rows(database_path)
    empty_the_log(database_path)
    insert_events_through_engine(db.engine, copy.deepcopy(rows))
    return own, stored_rows(database_path)


def test_the_own_connection_stores_every_column_as_sqlalchemy_core_does(app, client_pk):
    """The same input through both paths: the same stored values, byte for byte, and storage classes."""
    with app.app_context():
        own, through_engine = stored_both_ways(rows_for(client_pk))
    assert len(own) == 3
    for own_row, engine_row in zip(own, through_engine, strict=True):
        assert own_row.keys() == engine_row.keys()
        for column in own_row:
            assert (column, type(own_row[column]), own_row[column]) == \
                (column, type(engine_row[column]), engine_row[column])
    # And what that is: created_at in UTC as SQLite's DATETIME text; inspection as the default JSON
    # serializer writes it (ASCII, \u escapes), or NULL.
    assert [each["created_at"] for each in own] == [
        "2031-05-06 07:08:07.123456", "2031-05-06 07:08:07.000001", "2031-05-06 07:08:07.000000"]
    assert own[0]["inspection"] == json.dumps(INSPECTION) and own[0]["inspection"].isascii()
    assert (own[1]["inspection"], own[1]["typeof inspection"]) == (None, "null")
    assert (own[0]["typeof created_at"], own[0]["typeof inspection"], own[0]["typeof client_pk"]) == \
        ("text", "text", "integer")


def compact_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_the_engine_own_json_serializer_is_the_one_used(instance_path):
    """SQLAlchemy serializes JSON with the engine's json_serializer (an engine option) when it has one:
    the own connection does too."""
    app = _make_app(instance_path, SQLALCHEMY_ENGINE_OPTIONS={"json_serializer": compact_json})
    with app.app_context():
        own, through_engine = stored_both_ways(rows_for(None))
        db.engine.dispose()
    assert own == through_engine
    assert own[0]["inspection"] == compact_json(INSPECTION) and not own[0]["inspection"].isascii()


def test_the_orm_reads_back_the_rows_written_on_the_own_connection(app, client_pk):
    written = rows_for(client_pk)
    with app.app_context():
        event_writer(db.engine).insert(copy.deepcopy(written))
        events = db.session.execute(db.select(AuthEvent).options(db.undefer(AuthEvent.inspection))
                                    .order_by(AuthEvent.id)).scalars().all()
        read = [{column: getattr(each, column) for column in EVENT_COLUMNS} for each in events]
        inspectable = [each.inspectable for each in events]
        db.session.remove()
    assert read == written
    assert [each["created_at"].tzinfo for each in read] == [UTC, UTC, UTC]
    assert inspectable == [True, False, True]


def test_an_event_buffered_before_its_application_was_deleted_is_kept_without_its_client(instance_path):
    app = _make_app(instance_path, APPCREDS_EVENT_FLUSH_SECONDS=60)  # buffered: nothing written yet
    deleted_id, _ = make_app(app)
    kept_id, _ = make_app(app, name="Kept application")
    recorder = app_state(app).events
    seen = []
    with app.app_context():
        deleted, kept = find_application(deleted_id), find_application(kept_id)
        kept_pk = kept.id
        for client in (deleted, kept):
            recorder.record(client_id_sent=client.client_id, client_pk=client.id, endpoint="token",
                            outcome="success", reason_code="authenticated")
        db.session.delete(deleted)
        db.session.commit()
        event_writer(db.engine).connection().set_trace_callback(seen.append)
        assert recorder.flush() == 2
        event_writer(db.engine).connection().set_trace_callback(None)
        events = db.session.execute(db.select(AuthEvent).where(AuthEvent.reason_code == "authenticated")
                                    .order_by(AuthEvent.id)).scalars().all()
        assert [(each.client_id_sent, each.client_pk) for each in events] == [(deleted_id, None), (kept_id, kept_pk)]
        db.session.remove()
        db.engine.dispose()
    # The first try fails on the foreign key and is rolled back; the second writes both rows.
    assert [statement.split(" (")[0] for statement in seen] == [
        "BEGIN IMMEDIATE", "INSERT INTO auth_events", "ROLLBACK",
        "BEGIN IMMEDIATE", "SELECT id FROM clients", "INSERT INTO auth_events", "INSERT INTO auth_events", "COMMIT"]


def test_a_forked_process_opens_its_own_connection_and_the_parent_sees_its_events(app, client_pk):
    """gunicorn forks workers from the process that built the app: a SQLite connection must not
    cross a fork, so the child opens its own and leaves the inherited one alone."""
    recorder = app_state(app).events
    with app.app_context():
        recorder.record(client_pk=client_pk, outcome="success", reason_code="parent_before")
        writer = event_writer(db.engine)
        parent_connection = writer.connection()
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only, never return into pytest
            status = 1
            try:
                inherited_count = len(sqlite_tuning.INHERITED)
                for _ in range(3):
                    recorder.record(client_pk=client_pk, outcome="success", reason_code="child")
                own = event_writer(db.engine).connection()
                inherited_ok = sqlite_tuning.INHERITED[inherited_count:] == [parent_connection]
                count = own.execute("SELECT count(*) FROM auth_events WHERE reason_code = 'child'").fetchall()[0][0]
                status = 0 if own is not parent_connection and inherited_ok and count == 3 else 2
            finally:
                os._exit(status)
        assert wait_for(pid, seconds=30) == 0
        assert writer.connection() is parent_connection  # the parent keeps its own
        recorder.record(client_pk=client_pk, outcome="success", reason_code="parent_after")
        reasons = db.session.execute(db.select(AuthEvent.reason_code).where(AuthEvent.client_pk == client_pk)
                                     .order_by(AuthEvent.id)).scalars().all()
        db.session.remove()
    assert [reason for reason in reasons if reason in ("parent_before", "child", "parent_after")] == [
        "parent_before", "child", "child", "child", "parent_after"]


def test_threads_share_the_connection_and_every_batch_is_written(app, client_pk):
    def flush_batches(thread: int):
        with app.app_context():
            for batch in range(10):
                event_writer(db.engine).insert([row(client_pk=client_pk, created_at=datetime.now(UTC),
                                                    event_type="client_authentication", outcome="success",
                                                    reason_code=f"t{thread}", reason=f"batch {batch}")
                                                for _ in range(5)])

    threads = [threading.Thread(target=flush_batches, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with app.app_context():
        counts = db.session.execute(db.select(AuthEvent.reason_code, db.func.count())
                                    .where(AuthEvent.reason_code.like("t%")).group_by(AuthEvent.reason_code)).all()
        db.session.remove()
    assert sorted(counts) == [(f"t{number}", 50) for number in range(4)]


def test_an_error_other_than_a_foreign_key_rolls_back_and_reaches_the_caller(app, client_pk):
    """flush() logs it (the batch is lost, as through the engine); the connection is left usable."""
    with app.app_context():
        writer = event_writer(db.engine)
        good = row(client_pk=client_pk, created_at=datetime.now(UTC), event_type="client_authentication",
                   outcome="success", reason_code="fine", reason="fine")
        with pytest.raises(sqlite3.IntegrityError):
            writer.insert([good, {**good, "outcome": None}])  # NOT NULL: retried, fails again
        with pytest.raises(ValueError, match="naive datetime"):
            writer.insert([{**good, "created_at": datetime(2031, 1, 1)}])
        assert not writer.connection().in_transaction
        writer.insert([good])
        assert db.session.execute(db.select(AuthEvent.reason_code).where(AuthEvent.reason_code == "fine")
                                  ).scalars().all() == ["fine"]
        db.session.remove()


def test_disposing_the_engine_closes_the_writer_connection(app, client_pk):
    """Its connection ends with the engine's (test teardown, shutdown); the next flush opens another."""
    recorder = app_state(app).events
    with app.app_context():
        recorder.record(client_pk=client_pk, outcome="success", reason_code="before")
        closed = event_writer(db.engine).connection()
        db.engine.dispose()
        with pytest.raises(sqlite3.ProgrammingError):
            closed.execute("SELECT 1")
        recorder.record(client_pk=client_pk, outcome="success", reason_code="after")
        assert event_writer(db.engine).connection() is not closed
        assert db.session.execute(db.select(db.func.count()).select_from(AuthEvent)
                                  .where(AuthEvent.reason_code.in_(["before", "after"]))).scalar() == 2
        db.session.remove()


def test_in_memory_sqlite_writes_its_events_through_sqlalchemy_core(tmp_path):
    app = _make_app(tmp_path / "instance", SQLALCHEMY_DATABASE_URI="sqlite://")
    statements = []
    with app.app_context():
        db.create_all()
        client = Client(client_id="in-memory", name="In memory", app_type="non_interactive")
        db.session.add(client)
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2].split(" (")[0]))
        app_state(app).events.record(client_pk=client.id, outcome="success", reason_code="in_memory")
        assert "INSERT INTO auth_events" in statements
        assert db.session.execute(db.select(AuthEvent.reason_code)).scalars().all() == ["in_memory"]
        db.session.remove()
        db.engine.dispose()
