"""What flushing the event log costs per row on a SQLite file (models/auth_event.py).

    .venv/bin/python bench/event_flush.py [--rows 1000] [--repeats 10] [--inspection]

A migrated throwaway database in a temporary instance folder (the app's pragmas: WAL,
synchronous=NORMAL), one application, then batches of `--rows` rows - the two events of a token
request, client_authentication and token_request, as EventRecorder.record buffers them - are
written `--repeats` rounds over, one batch of each way per round (so a busy machine slows them
alike). Each batch is one transaction. Printed: CPU (process time) and wall time per row, best and
median, in microseconds. The first line is the SQLAlchemy Core path (`insert_events_through_engine`:
executemany in `engine.begin()`, PostgreSQL's and in-memory SQLite's still), the second the code a
flush runs on a SQLite file (EventWriter: the process's own sqlite3 connection); the third is the
part of the second spent building the rows' parameters (bind processors). `--inspection` gives
each client_authentication row an inspection like the inspector's (a JSON column, serialized).
"""
import argparse
import copy
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INSPECTION = {
    "checks": [{"check": "client_id", "expected": "a registered application", "saw": "found", "passed": True},
               {"check": "signature", "expected": "RS256 by a registered key", "saw": "kid bench-key",
                "passed": True}],
    "header": {"alg": "RS256", "kid": "bench-key", "typ": "JWT"},
    "claims": {"iss": "bench", "sub": "bench", "aud": "https://appcreds.example/oauth/token", "jti": "x" * 32,
               "exp": 1_900_000_000, "iat": 1_899_999_940},
}


def token_request_rows(count: int, client_id: str, client_pk: int, inspection: bool) -> list[dict]:
    """`count` rows as EventRecorder.record buffers them: a client authentication, then its token request."""
    from models.auth_event import EVENT_COLUMNS

    rows = []
    for number in range(count):
        fields = {"created_at": datetime.now(UTC), "client_id_sent": client_id, "client_pk": client_pk,
                  "endpoint": "token", "outcome": "success", "source_ip": "127.0.0.1"}
        if number % 2 == 0:
            fields.update(event_type="client_authentication", method="client_secret_basic",
                          reason_code="authenticated", reason="authenticated",
                          inspection=INSPECTION if inspection else None)
        else:
            fields.update(event_type="token_request", grant_type="client_credentials", reason_code="issued",
                          reason="issued")
        rows.append({column: fields.get(column) for column in EVENT_COLUMNS})
    return rows


def one_batch_us(write, rows: list[dict]) -> tuple[float, float]:
    """(CPU, wall) microseconds per row of write(rows)."""
    rows = copy.deepcopy(rows)  # each way gets rows of its own, outside the timing
    cpu, wall = time.process_time(), time.perf_counter()
    write(rows)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / len(rows) * 1e6, wall / len(rows) * 1e6


def measure(instance: Path, row_count: int, repeats: int, inspection: bool) -> list[tuple[str, float, float, float]]:
    from flask_migrate import upgrade

    from app import create_app
    from models import db
    from models.applications import create_application
    from models.auth_event import event_writer, insert_events_through_engine

    app = create_app({"INSTANCE_PATH": str(instance), "APPCREDS_EVENT_FLUSH_SECONDS": 60})
    with app.app_context():
        upgrade()
        client, _ = create_application("event bench", "non_interactive")
        db.session.commit()
        with db.engine.connect() as connection:
            settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                        for name in ("journal_mode", "synchronous")]
        print(f"  SQLite {sqlite3.sqlite_version}, journal_mode={settings[0]}, synchronous={settings[1]} "
              f"(1 = NORMAL), {row_count} rows a batch, inspection {'on' if inspection else 'off'}", flush=True)
        engine = db.engine
        writer = event_writer(engine)
        assert writer is not None, "a SQLite file: the flush has a connection of its own"
        rows = token_request_rows(row_count, client.client_id, client.id, inspection)
        ways = {
            "SQLAlchemy Core executemany (insert_events_through_engine)": lambda batch: insert_events_through_engine(
                engine, batch),
            "own sqlite3 connection (EventWriter.insert)": writer.insert,
            "  of which building the parameters (bind processors)": lambda batch: [writer._parameters(row)
                                                                                  for row in batch],
        }
        for write in ways.values():  # warm: statements compiled, connections opened
            write(rows[:2])
        runs = {label: [] for label in ways}
        for _ in range(repeats):
            for label, write in ways.items():
                runs[label].append(one_batch_us(write, rows))
        db.session.remove()
        db.engine.dispose()
    return [(label, min(cpu for cpu, _ in times), statistics.median(cpu for cpu, _ in times),
             statistics.median(wall for _, wall in times)) for label, times in runs.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows per batch (2..20000)")
    parser.add_argument("--repeats", type=int, default=10, help="batches per way (1..50)")
    parser.add_argument("--inspection", action="store_true", help="client_authentication rows carry an inspection")
    args = parser.parse_args()
    if not 2 <= args.rows <= 20_000 or not 1 <= args.repeats <= 50:
        parser.error("--rows must be 2..20000 and --repeats 1..50")
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory(prefix="appcreds-events-") as tmp:
        print("SQLite (a temporary file):", flush=True)
        rows = measure(Path(tmp) / "instance", args.rows, args.repeats, args.inspection)
    width = max(len(label) for label, *_ in rows)
    print(f"\n{'µs per row':<{width}}  best CPU  median CPU  median wall\n" + "-" * (width + 37))
    for label, best, median, wall in rows:
        print(f"{label:<{width}}  {best:>8.1f}  {median:>10.1f}  {wall:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
