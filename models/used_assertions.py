"""The record of used client-assertion jtis (RFC 7523 §3 item 7, RFC 7521 §4.2).

A Private Key JWT's jti is accepted once per application, until its exp (plus the clock skew) has
passed: `insert_jti` stores it, and the first insert wins atomically across threads, workers and
servers. blueprints/oauth/client_auth/private_key_jwt.py `record_jti` decides; this module only
stores, deletes and reads. Where the records live depends on the database:

- PostgreSQL (and in-memory SQLite): the table used_assertions, whose unique constraint on
  (client_pk, jti) decides even between servers sharing the database. One statement,
  INSERT ... ON CONFLICT DO NOTHING RETURNING, through SQLAlchemy Core.
- A SQLite file: an LMDB store beside it, `<database file>-jti-<boot id>` (JtiStore). A SQLite
  file serves one machine, and so does LMDB: a memory-mapped B+tree shared by that machine's
  processes, whose write transactions take turns on a lock in shared memory, so the first put of
  (application, jti) wins across workers. In the table, each insert would be a commit under
  SQLite's one write lock for the whole database: under load the workers queue for it (SQLite's
  busy handler sleeps 1 ms, then 2, then 5 ...), and each commit makes every worker's connection
  re-read the application's version. Under bench/token_endpoint.py's Private Key JWT load
  (granian, 2 workers, 64 connections, 2 cores) the table insert took 190 µs of wall time on
  average, 7 % of them over 0.5 ms, and the LMDB put 45 µs; the endpoint went from about 1,400 to
  about 1,600 tokens/s. In process, without load: about 30 µs against 8 µs (bench/jti_insert.py).

LMDB's commits are not synced to disk (sync=False), as the database's are not
(synchronous=NORMAL): a recorded jti survives a crash of the process, not of the machine. After
a machine crash an unsynced LMDB file may be damaged, so the store's file name carries the boot
id: a new boot starts a new store and deletes those of earlier boots. A record is needed for at
most the assertion lifetime plus the clock skew (6 minutes by default), so what a machine crash
loses is the record of assertions sent in the minutes before it, which could each be replayed
once after a reboot, within their exp.
"""
import glob
import os
import struct
from datetime import UTC, datetime, timedelta

import lmdb
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError

from models import UsedAssertion, db
from models.sqlite_tuning import OwnConnection, WritersPerFile
from models.timeutil import utcnow

_TABLE = UsedAssertion.__table__


def insert_jti(client_pk: int, jti: str, expires_at: datetime) -> bool:
    """Record (client, jti) until expires_at; False when it is already recorded (and, in the table,
    when the application was deleted meanwhile: its foreign key)."""
    engine = db.engine
    store = jti_store(engine)
    if store is not None:
        return store.insert(client_pk, jti, expires_at)
    return insert_jti_through_engine(engine, client_pk, jti, expires_at)


def delete_expired_jti(client_pk: int, jti: str) -> bool:
    """Delete the record of (client, jti) if its time is up; True when one was deleted."""
    store = jti_store(db.engine)
    if store is not None:
        return store.delete_expired(client_pk, jti)
    with db.engine.begin() as connection:
        return connection.execute(delete(_TABLE).where(_TABLE.c.client_pk == client_pk, _TABLE.c.jti == jti,
                                                       _TABLE.c.expires_at <= utcnow())).rowcount == 1


def jti_kept_until(client_pk: int, jti: str) -> str:
    """When the record of a used jti expires (UTC), for the reason of a refused replay."""
    store = jti_store(db.engine)
    if store is not None:
        expires_at = store.expires_at(client_pk, jti)
    else:
        with db.engine.connect() as connection:
            expires_at = connection.execute(select(_TABLE.c.expires_at).where(_TABLE.c.client_pk == client_pk,
                                                                              _TABLE.c.jti == jti)).scalar()
    return f"{expires_at:%H:%M:%S} UTC" if expires_at is not None else "its exp"


def purge_used_assertions() -> int:
    """Delete every jti record whose assertion could no longer be valid; returns how many."""
    store = jti_store(db.engine)
    if store is not None:
        return store.purge()
    with db.engine.begin() as connection:
        return connection.execute(delete(_TABLE).where(_TABLE.c.expires_at <= utcnow())).rowcount


# --- the table (PostgreSQL, in-memory SQLite) ----------------------------------------------------

# One statement per database, built once: insert unless (client_pk, jti) is already there. A taken
# jti inserts no row (RETURNING gives none), so a replay costs no exception and no rollback.
_INSERT_JTI = {
    name: dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["client_pk", "jti"]).returning(_TABLE.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def insert_jti_through_engine(engine: Engine, client_pk: int, jti: str, expires_at: datetime) -> bool:
    """As insert_jti, in the table through SQLAlchemy Core: one statement in its own transaction."""
    try:
        with engine.begin() as connection:
            inserted = connection.execute(_INSERT_JTI[connection.dialect.name],
                                          {"client_pk": client_pk, "jti": jti, "expires_at": expires_at})
            return inserted.first() is not None  # RETURNING: the new row's id, or no row when taken
    except IntegrityError:  # the application was deleted while this request ran
        return False


# --- the LMDB store beside a SQLite file -----------------------------------------------------------

def jti_store(engine: Engine) -> "JtiStore | None":
    """This process's jti store for the engine's SQLite file (opened at its first use), or None:
    not a SQLite file, the records are in the table."""
    return _stores.for_engine(engine)


# LMDB's upper bound on the file (which grows only as records need it): about 5 million records of
# 200 bytes. The purge keeps the store at the records still needed, tokens per second x (assertion
# lifetime + clock skew): 5 million is 14,000 Private Key JWT tokens a second for 6 minutes. Beyond
# it an insert raises lmdb.MapFullError and writes nothing; the token request fails as a server_error.
STORE_MAP_SIZE = 1 << 30
PURGE_BATCH = 1000        # records deleted per write transaction, so no insert waits long behind a purge
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EIGHT_BYTES = struct.Struct(">q")  # big-endian: byte order is number order, so keys sort by it


class JtiStore(OwnConnection):
    """One process's handle on the LMDB store beside a SQLite file, in two named databases:

    - used:     (client_pk, jti)            -> expires_at  (the record; a put without overwrite
                                                           inserts only the first time)
    - expiring: (expires_at, client_pk, jti) -> nothing    (the same records in expiry order, so
                                                           the purge reads only expired ones)

    client_pk and expires_at (microseconds since 1970, UTC) are 8 bytes big-endian each, the jti its
    UTF-8 bytes. Like a SQLite connection, an LMDB environment belongs to the process that opened
    it ("use an MDB_env in the process which opened it, without fork()ing", http://www.lmdb.tech/doc/;
    OwnConnection: gunicorn forks its workers after building the app); `_lock` keeps a process's threads
    to one transaction at a time.
    """

    def __init__(self, database_path: str, _dialect: Dialect | None = None):
        super().__init__(database_path)
        self.path = f"{database_path}-jti-{_boot_id()}"

    def insert(self, client_pk: int, jti: str, expires_at: datetime) -> bool:
        """As insert_jti: True when this call recorded (client, jti)."""
        key, expiry = _key(client_pk, jti), _EIGHT_BYTES.pack(_microseconds(expires_at))
        with self._lock:
            store = self._own_connection()
            with store.env.begin(write=True) as transaction:
                if not transaction.put(key, expiry, overwrite=False, db=store.used):
                    return False  # taken: the transaction ends with nothing written
                transaction.put(expiry + key, b"", db=store.expiring)
                return True

    def delete_expired(self, client_pk: int, jti: str) -> bool:
        key, now = _key(client_pk, jti), _microseconds(utcnow())
        with self._lock:
            store = self._own_connection()
            with store.env.begin(write=True) as transaction:
                expiry = transaction.get(key, db=store.used)
                if expiry is None or _EIGHT_BYTES.unpack(expiry)[0] > now:
                    return False
                transaction.delete(key, db=store.used)
                transaction.delete(expiry + key, db=store.expiring)
                return True

    def expires_at(self, client_pk: int, jti: str) -> datetime | None:
        with self._lock:
            store = self._own_connection()
            with store.env.begin() as transaction:
                expiry = transaction.get(_key(client_pk, jti), db=store.used)
        return None if expiry is None else _EPOCH + _EIGHT_BYTES.unpack(expiry)[0] * _MICROSECOND

    def purge(self) -> int:
        """Delete the expired records, oldest first, PURGE_BATCH per transaction; returns how many."""
        now, deleted = _EIGHT_BYTES.pack(_microseconds(utcnow())), 0
        while True:
            with self._lock:
                store = self._own_connection()
                with store.env.begin(write=True) as transaction:
                    cursor, batch = transaction.cursor(db=store.expiring), 0
                    cursor.first()
                    while batch < PURGE_BATCH and cursor.key() and cursor.key()[:8] <= now:
                        transaction.delete(cursor.key()[8:], db=store.used)
                        cursor.delete()  # and moves on to the next record (key() is b"" past the last)
                        batch += 1
            deleted += batch
            if batch < PURGE_BATCH:
                return deleted

    def count(self) -> int:
        """How many records the store holds (tests, bench)."""
        with self._lock:
            store = self._own_connection()
            with store.env.begin() as transaction:
                return transaction.stat(store.used)["entries"]

    def _leave_inherited(self, store: "_OpenStore") -> None:
        # A forked child closes its parent's environment unused: py-lmdb opens a store's files once
        # per process, so the child could not open its own beside it. Safe, unlike a use: LMDB's
        # close clears only this process's read slots, and the parent's file locks are its own.
        store.close()

    def _open(self) -> "_OpenStore":
        _delete_earlier_boots(self.database_path, self.path)
        # sync=False: commits are not flushed to disk (see the module's docstring); subdir=False: two
        # files beside the database, like its -wal and -shm: the store and its lock file (-lock).
        env = lmdb.open(self.path, map_size=STORE_MAP_SIZE, subdir=False, sync=False, max_dbs=2, mode=0o600)
        env.reader_check()  # free the read slots of processes that died
        return _OpenStore(env, env.open_db(b"used"), env.open_db(b"expiring"))


class _OpenStore:
    """An open LMDB environment and its two named databases (JtiStore)."""

    def __init__(self, env, used, expiring):
        self.env, self.used, self.expiring = env, used, expiring

    def close(self) -> None:
        self.env.close()


def _key(client_pk: int, jti: str) -> bytes:
    return _EIGHT_BYTES.pack(client_pk) + jti.encode("utf-8", "surrogatepass")


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _boot_id() -> str:
    """This boot of the machine (Linux: /proc/sys/kernel/random/boot_id), "0" where unknown."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot_id:
            return boot_id.read().strip()[:8]
    except OSError:
        return "0"


def _delete_earlier_boots(database_path: str, current: str) -> None:
    """Delete stores of earlier boots: no process uses them any more, and unsynced they may be damaged."""
    for path in glob.glob(glob.escape(f"{database_path}-jti-") + "*"):
        if path not in (current, f"{current}-lock"):
            try:
                os.remove(path)
            except FileNotFoundError:  # another worker of this boot was first
                pass


_stores = WritersPerFile(JtiStore)
