"""What recording one client assertion's jti costs (RFC 7523 §3 item 7), on SQLite and PostgreSQL.

    .venv/bin/python bench/jti_insert.py [--calls 2000] [--repeats 5] [--no-postgres]

A migrated throwaway database (SQLite: a temporary file with the app's pragmas, WAL and
synchronous=NORMAL; PostgreSQL: a throwaway server as tests/e2e/postgres.py starts one, when its
binaries are installed), one application, then each way of inserting a fresh jti is called
`--calls` times, `--repeats` rounds over (one run of each way per round, so a busy machine slows
them alike); the best and the median run are printed in microseconds per call. The first line is
the code the token endpoint runs (models/used_assertions.py `insert_jti`: on a SQLite file, the
LMDB store beside it), the second the table through SQLAlchemy Core (`insert_jti_through_engine`:
PostgreSQL's path); the others are what it could do instead, the table on the process's own
sqlite3 connection among them (SQLite's path before the LMDB store). SQLite also times other
table shapes on scratch tables: those would need a migration.
"""
import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_call_us(function, calls: int, repeats: int) -> tuple[float, float]:
    """(best, median) microseconds per call of function(jti) over `repeats` runs of `calls` calls."""
    runs = [one_run_us(function, calls) for _ in range(repeats)]
    return min(runs), statistics.median(runs)


def one_run_us(function, calls: int) -> float:
    """Microseconds per call of function(jti) over `calls` calls, each with a fresh jti."""
    jtis = [uuid.uuid4().hex for _ in range(calls)]
    started = time.perf_counter()
    for jti in jtis:
        function(jti)
    return (time.perf_counter() - started) / calls * 1e6


def interleaved_per_call_us(ways: dict, calls: int, repeats: int) -> list[tuple[str, float, float]]:
    """(label, best, median) of each way, run in rounds - one run of each way per round - so that
    a machine busy with something else slows every way alike."""
    runs = {label: [] for label in ways}
    for _ in range(repeats):
        for label, way in ways.items():
            runs[label].append(one_run_us(way, calls))
    return [(label, min(times), statistics.median(times)) for label, times in runs.items()]


def ways_to_insert(client_pk: int, own: sqlite3.Connection | None) -> dict:
    """Each way of recording a jti, as function(jti); all commit before they return.

    `own`: on SQLite, a connection of the process's own (no pool, no SQLAlchemy), opened with the
    app's pragmas, foreign keys included.
    """
    from sqlalchemy import insert

    from models import UsedAssertion, db
    from models.used_assertions import insert_jti, insert_jti_through_engine

    table = UsedAssertion.__table__
    expires_at = datetime.now(UTC) + timedelta(minutes=5)
    prepared = insert(table)  # built once: SQLAlchemy compiles it once and reuses that
    values = {"client_pk": client_pk, "expires_at": expires_at}
    dialect = db.engine.dialect.name
    raw_sql = ("INSERT INTO used_assertions (client_pk, jti, expires_at) VALUES (?, ?, ?)" if dialect == "sqlite"
               else "INSERT INTO used_assertions (client_pk, jti, expires_at) VALUES (%s, %s, %s)")
    raw_expires = expires_at.replace(tzinfo=None).isoformat(sep=" ") if dialect == "sqlite" else expires_at

    def as_it_is(jti):
        assert insert_jti(client_pk, jti, expires_at)

    def through_engine(jti):
        assert insert_jti_through_engine(db.engine, client_pk, jti, expires_at)

    def prepared_statement(jti):
        with db.engine.begin() as connection:
            connection.execute(prepared, {**values, "jti": jti})

    def autocommit_one_statement(jti):
        # No BEGIN and COMMIT around it: the INSERT is its own transaction (one round trip on PostgreSQL).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(prepared, {**values, "jti": jti})

    def asynchronous_commit(jti):
        # PostgreSQL: COMMIT returns before the WAL reaches the disk; visible to every other
        # transaction at once (replay is still decided exactly), lost if the server crashes
        # within about 3 x wal_writer_delay (600 ms by default).
        with db.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            connection.execute(prepared, {**values, "jti": jti})

    def driver_connection_from_the_pool(jti):
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(raw_sql, (client_pk, jti, raw_expires))
            raw.commit()
        finally:
            raw.close()  # back to the pool

    def orm_unit_of_work(jti):
        db.session.add(UsedAssertion(client_pk=client_pk, jti=jti, expires_at=expires_at))
        db.session.commit()

    replayed = uuid.uuid4().hex
    assert insert_jti(client_pk, replayed, expires_at)
    insert_jti_through_engine(db.engine, client_pk, replayed, expires_at)  # in the table too, where it is not

    def replay_as_it_is(_jti):
        assert not insert_jti(client_pk, replayed, expires_at)  # ON CONFLICT DO NOTHING: no row returned

    def replay_through_engine(_jti):
        assert not insert_jti_through_engine(db.engine, client_pk, replayed, expires_at)

    ways = {
        "insert_jti as it is (SQLite file: the LMDB store beside it; PostgreSQL: engine)": as_it_is,
        "insert_jti_through_engine (engine.begin, ON CONFLICT DO NOTHING RETURNING id)": through_engine,
        "insert(table) built once, parameters per call": prepared_statement,
        "insert(table) built once, AUTOCOMMIT connection (no BEGIN/COMMIT)": autocommit_one_statement,
        "driver connection from the pool, SQL string": driver_connection_from_the_pool,
        "ORM unit of work (session.add, commit), for comparison": orm_unit_of_work,
        "replay: insert_jti as it is (no row returned)": replay_as_it_is,
        "replay: insert_jti_through_engine (no row returned)": replay_through_engine,
    }
    if dialect == "postgresql":
        ways["insert(table) built once, SET LOCAL synchronous_commit TO OFF"] = asynchronous_commit
    if own is not None:
        # As SQLAlchemy stores a DateTime in SQLite, so that the purge's comparison still holds.
        stored_expires = expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        own_sql = ("INSERT INTO used_assertions (client_pk, jti, expires_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (client_pk, jti) DO NOTHING")

        def own_connection(jti):
            assert own.execute(own_sql, (client_pk, jti, stored_expires)).rowcount == 1  # autocommit

        def replay_own_connection(_jti):
            assert own.execute(own_sql, (client_pk, replayed, stored_expires)).rowcount == 0

        ways["the table on an own sqlite3 connection, autocommit (the SQLite path before LMDB)"] = own_connection
        ways["replay: the table on an own sqlite3 connection"] = replay_own_connection
    return ways


SCRATCH_SHAPES = {
    "table as migrated: rowid + unique (client_pk, jti) + index on expires_at": """
        CREATE TABLE scratch (id INTEGER PRIMARY KEY, client_pk INTEGER NOT NULL, jti VARCHAR(64) NOT NULL,
                              expires_at DATETIME NOT NULL, UNIQUE (client_pk, jti));
        CREATE INDEX scratch_expires ON scratch (expires_at)""",
    "WITHOUT ROWID, primary key (client_pk, jti) + index on expires_at": """
        CREATE TABLE scratch (client_pk INTEGER NOT NULL, jti VARCHAR(64) NOT NULL, expires_at DATETIME NOT NULL,
                              PRIMARY KEY (client_pk, jti)) WITHOUT ROWID;
        CREATE INDEX scratch_expires ON scratch (expires_at)""",
    "WITHOUT ROWID, primary key (client_pk, jti), no expires_at index (purge scans)": """
        CREATE TABLE scratch (client_pk INTEGER NOT NULL, jti VARCHAR(64) NOT NULL, expires_at DATETIME NOT NULL,
                              PRIMARY KEY (client_pk, jti)) WITHOUT ROWID""",
}


def sqlite_shapes(path: Path, calls: int, repeats: int) -> list[tuple[str, float, float]]:
    """Raw sqlite3 inserts (one transaction each) into other shapes of the table, on the same file."""
    from models.sqlite_tuning import apply_pragmas

    rows = []
    connection = sqlite3.connect(path, isolation_level=None)
    apply_pragmas(connection)
    expires = (datetime.now(UTC) + timedelta(minutes=5)).replace(tzinfo=None).isoformat(sep=" ")
    for label, schema in SCRATCH_SHAPES.items():
        connection.execute("DROP TABLE IF EXISTS scratch")
        connection.executescript(schema)

        def insert_one(jti):
            connection.execute("BEGIN")
            connection.execute("INSERT INTO scratch (client_pk, jti, expires_at) VALUES (1, ?, ?)", (jti, expires))
            connection.execute("COMMIT")

        rows.append((f"own sqlite3 connection, {label}", *per_call_us(insert_one, calls, repeats)))
    connection.execute("DROP TABLE scratch")
    connection.close()
    return rows


def measure(database_url: str | None, instance: Path, calls: int, repeats: int) -> list[tuple[str, float, float]]:
    from flask_migrate import upgrade

    from app import create_app
    from models import db
    from models.applications import create_application

    config = {"INSTANCE_PATH": str(instance), "APPCREDS_EVENT_FLUSH_SECONDS": 60}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    with app.app_context():
        upgrade()
        client, _ = create_application("jti bench", "non_interactive")
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                            for name in ("journal_mode", "synchronous")]
            print(f"  SQLite {sqlite3.sqlite_version}, journal_mode={settings[0]}, synchronous={settings[1]} "
                  "(1 = NORMAL)", flush=True)
        own = None
        if db.engine.dialect.name == "sqlite":
            from models.sqlite_tuning import apply_pragmas

            own = sqlite3.connect(db.engine.url.database, isolation_level=None)
            apply_pragmas(own)
        ways = ways_to_insert(client.id, own)
        rows = interleaved_per_call_us(ways, calls, repeats)
        if own is not None:
            own.close()
            rows += sqlite_shapes(Path(db.engine.url.database), calls, repeats)
        db.session.remove()
        db.engine.dispose()
    return rows


def print_rows(title: str, rows) -> None:
    width = max(len(label) for label, *_ in rows)
    print(f"\n{title}\n{'':<{width}}  best µs  median µs\n" + "-" * (width + 20))
    for label, best, median in rows:
        print(f"{label:<{width}}  {best:>7.1f}  {median:>9.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="inserts per run (1..20000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per way (1..20)")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    args = parser.parse_args()
    if not 1 <= args.calls <= 20_000 or not 1 <= args.repeats <= 20:
        parser.error("--calls must be 1..20000 and --repeats 1..20")
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory(prefix="appcreds-jti-") as tmp:
        print("SQLite (a temporary file):", flush=True)
        print_rows("SQLite", measure(None, Path(tmp) / "sqlite", args.calls, args.repeats))
        if args.postgres:
            from tests.e2e.postgres import find_postgres_bin, postgres_server

            if find_postgres_bin() is None:
                print("\nPostgreSQL: skipped, no initdb/pg_ctl installed")
                return 0
            with postgres_server() as url:
                print("\nPostgreSQL (a throwaway server on loopback, default settings: synchronous_commit=on):")
                print_rows("PostgreSQL", measure(url, Path(tmp) / "postgres", args.calls, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
