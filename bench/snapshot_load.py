"""What one snapshot miss costs a worker: µs for ClientSnapshots._load, in process.

    .venv/bin/python bench/snapshot_load.py [--applications 2000] [--rounds 5]

With more applications than a worker keeps (APPCREDS_CLIENT_SNAPSHOT_CAPACITY), called
round-robin, every request is a miss, so this cost is what limits the token endpoint.

Makes a migrated throwaway SQLite database with N applications made as the dashboard makes them
(models/applications.py: a secret, one API grant; bench/many_applications.py does the same),
then loads every one of them with ClientSnapshots._load (models/client_snapshots.py), a round
at a time, and prints the median µs per load over the rounds. For comparison it does the same
with the ORM load _load used before (a Session, joinedload grants, selectinload credentials,
then ClientSnapshot.of).
"""
import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 1000  # applications per commit


def make_applications(count: int) -> list[str]:
    """`count` applications with a secret and one API grant; returns their client ids."""
    from flask import current_app

    from models import db
    from models.applications import create_application, grant_api

    audience = current_app.config["APPCREDS_ISSUER"] + "api/demo/"
    client_ids = []
    for first in range(0, count, BATCH):
        for number in range(first, min(first + BATCH, count)):
            client, _ = create_application(f"Load {number}", "non_interactive")
            grant_api(client, audience, ["read:demo"])
            client_ids.append(client.client_id)
        db.session.commit()
        db.session.expunge_all()
    db.session.remove()
    return client_ids


def orm_load(client_id: str):
    """The ORM load _load used before: the reference the Core load is compared with."""
    from sqlalchemy.orm import Session

    from models import db
    from models.client_snapshots import ClientSnapshot

    with Session(db.engine) as session:
        return ClientSnapshot.of(session.execute(orm_statement(), {"client_id": client_id}).unique().scalar_one())


@functools.cache
def orm_statement():
    """Built once, as _load's was: the application, its grants (joined) and credentials (a second select)."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload, selectinload

    from models import Client

    return (select(Client).where(Client.client_id == bindparam("client_id"))
            .options(joinedload(Client.grants), selectinload(Client.credentials)))


def us_per_load(load, client_ids: list[str]) -> float:
    started = time.perf_counter()
    for client_id in client_ids:
        load(client_id)
    return (time.perf_counter() - started) / len(client_ids) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=2000, help="2..100000")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over every application; the median is printed")
    args = parser.parse_args()
    if not 2 <= args.applications <= 100_000 or not 1 <= args.rounds <= 50:
        parser.error("--applications must be 2..100000 and --rounds 1..50")

    from flask_migrate import upgrade

    from app import create_app
    from models import db
    from models.client_snapshots import ClientSnapshots

    with tempfile.TemporaryDirectory(prefix="appcreds-snapshot-load-") as tmp:
        app = create_app({"INSTANCE_PATH": tmp, "APPCREDS_EVENT_FLUSH_SECONDS": 60})
        with app.app_context():
            upgrade()
            client_ids = make_applications(args.applications)
            snapshots = ClientSnapshots(capacity=1)  # keeps one: memory stays flat, every load is a miss
            loads = {"ClientSnapshots._load": lambda client_id: snapshots._load(client_id, None),
                     "ORM load + ClientSnapshot.of (before)": orm_load}
            for load in loads.values():
                us_per_load(load, client_ids[:200])  # warm: imports, compiled statements, the pool
            rounds = {name: [] for name in loads}
            for _ in range(args.rounds):  # alternated, so both see the same machine state
                for name, load in loads.items():
                    rounds[name].append(us_per_load(load, client_ids))
            db.engine.dispose()
    print(f"{args.applications} applications, {args.rounds} rounds, µs per load (median; all rounds):")
    for name, numbers in rounds.items():
        print(f"  {name:<40} {statistics.median(numbers):6.0f}   ({', '.join(f'{n:.0f}' for n in numbers)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
