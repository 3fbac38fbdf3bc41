"""The record of used jtis (models/used_assertions.py, RFC 7523 §3 item 7).

On a SQLite file the records are in an LMDB store beside the database file (JtiStore): these tests
hold it to what the table gives on PostgreSQL - each jti once per application, across threads and
processes, kept until its time is up, then deleted by the purge - and check what is its own: one
environment per process, closed with the engine; a store of an earlier boot deleted. The table
path (PostgreSQL, in-memory SQLite) keeps its foreign key: a deleted application's jti is refused.
"""
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import lmdb
import pytest
from flask_migrate import upgrade
from sqlalchemy import event

from models import Client, UsedAssertion, db
from models import used_assertions as used
from models.applications import find_application
from models.used_assertions import (
    delete_expired_jti,
    insert_jti,
    insert_jti_through_engine,
    jti_kept_until,
    jti_store,
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


def table_count() -> int:
    return db.session.execute(db.select(db.func.count()).select_from(UsedAssertion)).scalar()


def test_on_a_sqlite_file_the_records_are_in_the_store_beside_it_not_in_the_table(app, client_pk):
    with app.app_context():
        store = jti_store(db.engine)
        assert store is not None and store.database_path == db.engine.url.database
        assert insert_jti(client_pk, "first", TOMORROW)
        assert store.count() == 1 and table_count() == 0
        # Its file and LMDB's lock file sit beside the database, the file named for this boot.
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        assert store.path == f"{db.engine.url.database}-jti-{boot_id}"
        assert os.path.isfile(store.path) and os.path.isfile(f"{store.path}-lock")


def test_a_jti_is_recorded_once_per_application(app, client_pk):
    other_client_id, _ = make_app(app, name="Other application")
    with app.app_context():
        other_pk = find_application(other_client_id).id
        assert insert_jti(client_pk, "once", TOMORROW)
        assert not insert_jti(client_pk, "once", TOMORROW)
        assert insert_jti(other_pk, "once", TOMORROW)  # once per application
        assert not insert_jti(other_pk, "once", TOMORROW + timedelta(days=1))  # another exp changes nothing
        assert insert_jti(client_pk, "ünïcode-jti", TOMORROW) and not insert_jti(client_pk, "ünïcode-jti", TOMORROW)
        assert jti_store(db.engine).count() == 3


def test_an_expired_record_is_deleted_and_its_jti_accepted_again(app, client_pk):
    expires_at = datetime(2031, 5, 6, 9, 8, 7, 123456, tzinfo=timezone(timedelta(hours=2)))
    with app.app_context():
        assert insert_jti(client_pk, "old", datetime.now(UTC) - timedelta(seconds=1))
        assert insert_jti(client_pk, "current", expires_at)
        assert not insert_jti(client_pk, "old", TOMORROW)
        assert not delete_expired_jti(client_pk, "current")  # its time is not up
        assert not delete_expired_jti(client_pk, "never-used")
        assert jti_kept_until(client_pk, "current") == "07:08:07 UTC"  # to the microsecond, in UTC:
        assert jti_store(db.engine).expires_at(client_pk, "current") == expires_at
        assert jti_kept_until(client_pk, "never-used") == "its exp"
        assert delete_expired_jti(client_pk, "old")
        assert insert_jti(client_pk, "old", TOMORROW)
        assert jti_store(db.engine).expires_at(client_pk, "old") == TOMORROW


def test_the_purge_deletes_expired_records_only_in_short_transactions(app, client_pk, monkeypatch):
    monkeypatch.setattr(used, "PURGE_BATCH", 2)
    now = datetime.now(UTC)
    with app.app_context():
        for number in range(5):
            assert insert_jti(client_pk, f"gone-{number}", now - timedelta(seconds=number + 1))
        assert insert_jti(client_pk, "kept", now + timedelta(seconds=60))
        store = jti_store(db.engine)
        transactions_before = store.connection().env.info()["last_txnid"]  # LMDB counts its write transactions
        assert purge_used_assertions() == 5
        assert store.connection().env.info()["last_txnid"] - transactions_before == 3  # 2 + 2 + 1
        assert store.count() == 1
        assert not insert_jti(client_pk, "kept", TOMORROW) and insert_jti(client_pk, "gone-0", TOMORROW)
        assert purge_used_assertions() == 0


def test_a_full_store_refuses_an_insert_and_writes_nothing_of_it(app, client_pk, monkeypatch):
    monkeypatch.setattr(used, "STORE_MAP_SIZE", 1 << 18)  # 256 KiB: a few thousand records
    with app.app_context():
        with pytest.raises(lmdb.MapFullError):
            for number in range(20_000):
                assert insert_jti(client_pk, f"jti-{number}", TOMORROW)
        store = jti_store(db.engine)
        recorded = store.count()
        assert 100 < recorded < 20_000
        assert store.expires_at(client_pk, f"jti-{recorded - 1}") == TOMORROW
        assert store.expires_at(client_pk, f"jti-{recorded}") is None  # the refused one: in neither database
        with store.connection().env.begin() as transaction:
            assert transaction.stat(store.connection().expiring)["entries"] == recorded


def test_records_outlive_the_process_store_and_a_new_app_on_the_same_files_sees_them(app, client_pk,
                                                                                    instance_path):
    """A restarted worker (a new app, a new LMDB environment) refuses what an earlier one recorded."""
    with app.app_context():
        assert insert_jti(client_pk, "before-restart", TOMORROW)
        db.engine.dispose()  # closes this process's environment, as shutdown does
    restarted = _make_app(instance_path)
    with restarted.app_context():
        assert not insert_jti(client_pk, "before-restart", TOMORROW)
        assert insert_jti(client_pk, "after-restart", TOMORROW)
        db.engine.dispose()


def test_a_store_of_an_earlier_boot_is_deleted_when_the_store_opens(app, client_pk):
    """After a machine crash an unsynced LMDB file may be damaged: a new boot starts afresh."""
    with app.app_context():
        database = db.engine.url.database
        earlier = [f"{database}-jti-0ldb00t0", f"{database}-jti-0ldb00t0-lock"]
        for path in earlier:
            with open(path, "w") as stale:
                stale.write("not an LMDB file")
        db.engine.dispose()  # the next use opens the store anew
        assert insert_jti(client_pk, "fresh", TOMORROW)
        assert not any(os.path.exists(path) for path in earlier)
        assert os.path.exists(jti_store(db.engine).path)


def test_a_forked_process_opens_its_own_environment_and_the_parent_sees_its_insert(app, client_pk):
    """gunicorn forks workers from the process that built the app: an LMDB environment must not
    be used across a fork, so the child closes the inherited one unused and opens its own."""
    with app.app_context():
        assert insert_jti(client_pk, "parent-before", TOMORROW)
        store = jti_store(db.engine)
        parent_environment = store.connection()
        pid = os.fork()
        if pid == 0:  # the child: report through the exit status only, never return into pytest
            status = 1
            try:
                if insert_jti(client_pk, "child", TOMORROW) and not insert_jti(client_pk, "parent-before",
                                                                                     TOMORROW):
                    own = jti_store(db.engine).connection()
                    inherited_closed = _is_closed(parent_environment)
                    status = 0 if own is not parent_environment and inherited_closed else 2
            finally:
                os._exit(status)
        exit_status = wait_for(pid, seconds=30)
        assert exit_status == 0
        assert store.connection() is parent_environment  # the parent keeps its own
        assert not insert_jti(client_pk, "child", TOMORROW)
        assert insert_jti(client_pk, "parent-after", TOMORROW)


def test_a_forked_process_that_closes_the_inherited_store_can_open_its_own(app, client_pk):
    """Disposing the engine in a child (tests do) closes the parent's environment there too, so
    the child's next insert can open the store: py-lmdb opens a store's files once per process."""
    with app.app_context():
        assert insert_jti(client_pk, "parent", TOMORROW)
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                db.engine.dispose()
                status = 0 if insert_jti(client_pk, "child", TOMORROW) else 2
            finally:
                os._exit(status)
        assert wait_for(pid, seconds=30) == 0
        assert not insert_jti(client_pk, "child", TOMORROW)


def _is_closed(store) -> bool:
    try:
        store.env.info()
    except lmdb.Error:
        return True
    return False


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


def test_processes_racing_for_the_same_jtis_each_win_each_jti_once(app, client_pk):
    """Four forked processes, released at once, insert the same 1,000 jtis: each jti is won exactly once."""
    jtis = [uuid.uuid4().hex for _ in range(1000)]
    go_read, go_write = os.pipe()
    children = []  # (pid, the read end of its result pipe)
    with app.app_context():
        for _ in range(4):
            result_read, result_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    os.read(go_read, 1)  # wait for the start
                    won = [jti for jti in jtis if insert_jti(client_pk, jti, TOMORROW)]
                    with os.fdopen(result_write, "w") as result:
                        result.write("".join(f"{jti}\n" for jti in won))
                    status = 0
                finally:
                    os._exit(status)
            os.close(result_write)
            children.append((pid, result_read))
        os.write(go_write, b"go!!")  # one byte each: all four start together
        won = []
        for _, result_read in children:
            with os.fdopen(result_read) as result:
                won.extend(result.read().split())
        assert [wait_for(pid, seconds=60) for pid, _ in children] == [0, 0, 0, 0]
        os.close(go_read)
        os.close(go_write)
        assert sorted(won) == sorted(jtis)
        assert jti_store(db.engine).count() == 1000


def test_threads_share_the_environment_and_each_jti_wins_once(app, client_pk):
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


def test_disposing_the_engine_closes_the_environment(app, client_pk):
    """Its environment ends with the engine's connections (test teardown, shutdown); the next insert opens another."""
    with app.app_context():
        assert insert_jti(client_pk, "before", TOMORROW)
        closed = jti_store(db.engine).connection()
        db.engine.dispose()
        with pytest.raises(lmdb.Error):
            closed.env.begin()
        assert insert_jti(client_pk, "after", TOMORROW)
        assert jti_store(db.engine).connection() is not closed


# --- the table: PostgreSQL, in-memory SQLite -------------------------------------------------------

def test_in_the_table_a_jti_is_recorded_once_and_a_deleted_application_refused(app, client_pk):
    """The table's path, on this app's SQLite engine: the unique constraint and the foreign key decide."""
    with app.app_context():
        assert insert_jti_through_engine(db.engine, client_pk, "once", TOMORROW)
        assert not insert_jti_through_engine(db.engine, client_pk, "once", TOMORROW)
        assert db.session.execute(db.select(UsedAssertion.jti)).scalars().all() == ["once"]
        db.session.delete(db.session.get(Client, client_pk))
        db.session.commit()
        assert not insert_jti_through_engine(db.engine, client_pk, "orphan", TOMORROW)
        assert table_count() == 0  # ON DELETE CASCADE took the application's records too


def test_on_in_memory_sqlite_the_records_are_in_the_table(tmp_path):
    app = _make_app(tmp_path / "instance", SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        db.create_all()
        assert jti_store(db.engine) is None
        client = Client(client_id="in-memory", name="In memory", app_type="non_interactive")
        db.session.add(client)
        db.session.commit()
        client_pk = client.id
        assert insert_jti(client_pk, "in-memory", TOMORROW) and not insert_jti(client_pk, "in-memory", TOMORROW)
        assert jti_kept_until(client_pk, "in-memory") == f"{TOMORROW:%H:%M:%S} UTC"
        assert insert_jti(client_pk, "old", datetime.now(UTC) - timedelta(seconds=1))
        assert purge_used_assertions() == 1
        assert db.session.execute(db.select(UsedAssertion.jti)).scalars().all() == ["in-memory"]
        db.session.remove()
        db.engine.dispose()


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
        assert jti_store(engine) is None
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
