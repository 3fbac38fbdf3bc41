"""What one cached application costs a worker: bytes per snapshot, and the time to load one.

    .venv/bin/python bench/snapshot_memory.py [--applications 500]

Makes a migrated throwaway SQLite database with N applications made as the dashboard makes them
(a secret, one API grant) and 20 with a private_key_jwt key too, then loads each group into a
ClientSnapshots cache (models/client_snapshots.py) and measures the memory the cache holds
with tracemalloc. For comparison it also keeps the ORM objects of the same applications (what
the cache held before ClientSnapshot; snapshots are now loaded with Core, not copied from them).
Multiply by APPCREDS_CLIENT_SNAPSHOT_CAPACITY for a worker's worst case.
"""
import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def held_bytes(make) -> tuple[float, object]:
    """(bytes still allocated after `make()` returns what it made, what it made)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    made = make()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held, made


WITH_KEY = 20  # applications that also hold a private_key_jwt public key (RSA 2048: slow to generate)


def make_applications(count: int, with_key: bool) -> list[str]:
    """`count` applications with a secret and one API grant (and a key); returns their client ids."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from flask import current_app

    from models import db
    from models.applications import create_application, grant_api
    from models.credential_registry import add_public_key_credential

    audience = current_app.config["APPCREDS_ISSUER"] + "api/demo/"
    client_ids = []
    for number in range(count):
        client, _ = create_application(f"Memory {number}", "non_interactive")
        grant_api(client, audience, ["read:demo"])
        if with_key:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            add_public_key_credential(client, "private_key_jwt", pem)
        client_ids.append(client.client_id)
    db.session.commit()
    db.session.remove()
    return client_ids


def measure(client_ids: list[str]) -> dict:
    """Bytes per application held by ClientSnapshots and by the ORM objects; µs to load one."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import Session, joinedload, selectinload

    from models import Client, db
    from models.client_snapshots import ClientSnapshots

    whole_application = (select(Client).where(Client.client_id == bindparam("client_id"))
                         .options(joinedload(Client.grants), selectinload(Client.credentials)))

    def snapshots():
        cache = ClientSnapshots(capacity=len(client_ids))
        return [cache.find(client_id) for client_id in client_ids]

    def orm_objects():
        kept = []
        for client_id in client_ids:
            with Session(db.engine, expire_on_commit=False) as session:
                kept.append(session.execute(whole_application, {"client_id": client_id}).unique().scalar_one())
        return kept

    snapshots(), orm_objects()  # warm: imports, compiled statements, the pool
    numbers = {}
    for name, load in (("snapshot", snapshots), ("orm", orm_objects)):
        started = time.perf_counter()
        load()
        numbers[f"{name}_load_us"] = (time.perf_counter() - started) / len(client_ids) * 1e6
        numbers[f"{name}_bytes"] = held_bytes(load)[0] / len(client_ids)
    return numbers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=500, help="1..20000 (without a key)")
    args = parser.parse_args()
    if not 2 <= args.applications <= 20_000:
        parser.error("--applications must be 2..20000")

    from flask_migrate import upgrade

    from app import create_app
    from models import db

    with tempfile.TemporaryDirectory(prefix="appcreds-snapshots-") as tmp:
        app = create_app({"INSTANCE_PATH": tmp, "APPCREDS_EVENT_FLUSH_SECONDS": 60})
        with app.app_context():
            upgrade()
            groups = {f"{args.applications} applications, a secret and one API grant":
                      measure(make_applications(args.applications, with_key=False)),
                      f"{WITH_KEY} applications, the same and one RSA 2048 public key":
                      measure(make_applications(WITH_KEY, with_key=True))}
            db.engine.dispose()
    for label, numbers in groups.items():
        print(f"{label}:\n"
              f"  ClientSnapshot (slotted copy): {numbers['snapshot_bytes']:>6.0f} bytes each, "
              f"{numbers['snapshot_load_us']:.0f} µs to load one (a first find: version check, load, copy)\n"
              f"  ORM objects of the same rows:  {numbers['orm_bytes']:>6.0f} bytes each, "
              f"{numbers['orm_load_us']:.0f} µs to load one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
