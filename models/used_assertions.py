"""The record of used client-assertion jtis (RFC 7523 §3 item 7, RFC 7521 §4.2: table used_assertions).

A Private Key JWT's jti is accepted once per application, until its exp (plus the clock skew) has
passed: `insert_jti` stores it, and the unique constraint on (client_pk, jti) makes the first insert
win atomically across threads, workers and servers sharing the database. blueprints/oauth/
client_auth/private_key_jwt.py `record_jti` decides; this module only stores, deletes and reads.

The insert is on every Private Key JWT token request, so on a SQLite file it does not go through
SQLAlchemy: each process sends the one statement on a sqlite3 connection of its own, in autocommit
(JtiWriter). bench/jti_insert.py (SQLite 3.40, WAL, synchronous=NORMAL): about 120 µs per insert
and 100 µs per refused replay through `engine.begin()`; about 40 µs and 10 µs on the own
connection. The statement is the one SQLAlchemy would send, compiled once, and expires_at is
converted by the column type's own bind processor, so the stored text is the same byte for byte
and the ORM, `delete_expired_jti` and the purge read it as before. On PostgreSQL (and in-memory
SQLite) the insert goes through SQLAlchemy Core; the rare statements - delete an expired record,
say until when a jti is kept, purge - always do.
"""
import sqlite3
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from models import UsedAssertion, db
from models.sqlite_tuning import OwnWriter, WritersPerFile
from models.timeutil import utcnow

_TABLE = UsedAssertion.__table__

# One statement per database, built once: insert unless (client_pk, jti) is already there. A taken
# jti inserts no row (RETURNING gives none), so a replay costs no exception and no rollback.
_INSERT_JTI = {
    name: dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["client_pk", "jti"]).returning(_TABLE.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}

# The SQLite statement as SQLAlchemy compiles it (qmark parameters), and each parameter's bind
# processor from its column type: expires_at goes through UTCDateTime.process_bind_param and then
# SQLite's DATETIME storage format, exactly as on the SQLAlchemy path.
_SQLITE_DIALECT = sqlite.dialect()
_SQLITE_INSERT = _INSERT_JTI["sqlite"].compile(dialect=_SQLITE_DIALECT, column_keys=["client_pk", "jti", "expires_at"])
SQLITE_INSERT_JTI_SQL = _SQLITE_INSERT.string
_SQLITE_BINDS = {name: _TABLE.c[name].type.dialect_impl(_SQLITE_DIALECT).bind_processor(_SQLITE_DIALECT)
                 for name in _SQLITE_INSERT.positiontup}
if list(_SQLITE_BINDS) != ["client_pk", "jti", "expires_at"] or _SQLITE_BINDS["client_pk"] or _SQLITE_BINDS["jti"]:
    raise RuntimeError("the used_assertions columns changed: JtiWriter.insert must bind its parameters anew")
_sqlite_expires_at = _SQLITE_BINDS["expires_at"]


def insert_jti(client_pk: int, jti: str, expires_at: datetime) -> bool:
    """Record (client, jti) until expires_at and commit; False when it is already recorded, or when
    the application was deleted meanwhile (its foreign key)."""
    engine = db.engine
    writer = jti_writer(engine)
    if writer is not None:
        return writer.insert(client_pk, jti, expires_at)
    return insert_jti_through_engine(engine, client_pk, jti, expires_at)


def insert_jti_through_engine(engine: Engine, client_pk: int, jti: str, expires_at: datetime) -> bool:
    """As insert_jti, through SQLAlchemy Core: PostgreSQL, in-memory SQLite (and tests, bench)."""
    try:
        with engine.begin() as connection:
            inserted = connection.execute(_INSERT_JTI[connection.dialect.name],
                                          {"client_pk": client_pk, "jti": jti, "expires_at": expires_at})
            return inserted.first() is not None  # RETURNING: the new row's id, or no row when taken
    except IntegrityError:  # the application was deleted while this request ran
        return False


def delete_expired_jti(client_pk: int, jti: str) -> bool:
    """Delete the record of (client, jti) if its time is up; True when one was deleted."""
    with db.engine.begin() as connection:
        return connection.execute(delete(_TABLE).where(_TABLE.c.client_pk == client_pk, _TABLE.c.jti == jti,
                                                       _TABLE.c.expires_at <= utcnow())).rowcount == 1


def jti_kept_until(client_pk: int, jti: str) -> str:
    """When the record of a used jti expires (UTC), for the reason of a refused replay."""
    with db.engine.connect() as connection:
        expires_at = connection.execute(select(_TABLE.c.expires_at).where(_TABLE.c.client_pk == client_pk,
                                                                          _TABLE.c.jti == jti)).scalar()
    return f"{expires_at:%H:%M:%S} UTC" if expires_at is not None else "its exp"


def purge_used_assertions() -> int:
    """Delete every jti record whose assertion could no longer be valid; returns how many."""
    with db.engine.begin() as connection:
        return connection.execute(delete(_TABLE).where(_TABLE.c.expires_at <= utcnow())).rowcount


# --- the SQLite writer ---------------------------------------------------------------------------

def jti_writer(engine: Engine) -> "JtiWriter | None":
    """This process's writer for the engine's SQLite file (created at the first call), or None."""
    return _writers.for_engine(engine)


class JtiWriter(OwnWriter):
    """One process's own sqlite3 connection to a SQLite file, for the jti insert only.

    Autocommit (isolation_level=None): the INSERT is its own transaction, with no BEGIN and COMMIT
    around it and no pool to check a connection out of. The app's pragmas, foreign keys included,
    so an insert for a deleted application fails as it would through the engine. A lock: threaded
    servers share the connection, one statement at a time.

    The connection belongs to the process that opened it (OwnWriter): a worker's first insert
    opens its own, and it is closed with the engine.
    """

    def insert(self, client_pk: int, jti: str, expires_at: datetime) -> bool:
        """As insert_jti: True when this call recorded (client, jti)."""
        parameters = (client_pk, jti, _sqlite_expires_at(expires_at))
        try:
            with self._lock:
                # fetchall: the statement runs to its end, so it is finished (and committed) here.
                return bool(self._own_connection().execute(SQLITE_INSERT_JTI_SQL, parameters).fetchall())
        except sqlite3.IntegrityError:  # the application was deleted while this request ran
            return False


_writers = WritersPerFile(lambda path, _dialect: JtiWriter(path))
