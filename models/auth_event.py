"""The event log: every client authentication attempt, good or bad, with its reason.

Beside each attempt at the token endpoint, the token request's own outcome (TOKEN_REQUEST:
`issued`, or the RFC 6749 error and its reason); and an end user's steps at /authorize:
sign-in, consent given, denied or withdrawn, a code issued (models/audit.py `record_flow_event`).

Also records every change to an application, through whichever door it came (the dashboard,
the command line, the Management API: models/audit.py `record_change`), so the application's Logs tab tells
its whole story and the audit trail does not depend on the door.

Each event also writes one log line (appcreds.events), except a successful client authentication
or Management API token use, which log at DEBUG: the event log holds them, and a line per token
would cost the token endpoint more than the event itself.

Writes are batched: `record()` appends to an in-process buffer that a background thread
flushes every `APPCREDS_EVENT_FLUSH_SECONDS` in one transaction. The token endpoint thus
pays for a list append, not for a database commit. Up to that many seconds of events can
be lost if a worker is killed with SIGKILL; a clean shutdown flushes.

The token endpoint records two events per request, so on a SQLite file the flush does not go
through SQLAlchemy: each process sends the batch, one transaction, on a sqlite3 connection of its
own (EventWriter).
bench/event_flush.py (SQLite 3.40, WAL, synchronous=NORMAL, 1,000 rows a batch): about 10 µs of
CPU per row through SQLAlchemy Core's executemany, about 7 µs on the own connection (2 µs of it in
the bind processors, the rest SQLite's own: the row and two indexes). The statement is the one
SQLAlchemy compiles for the table, and each value goes through its column type's bind processor
for the engine's dialect (created_at: UTCDateTime, then SQLite's DATETIME text; inspection: the
dialect's JSON serializer, NULL for None), so the stored text is the same byte for byte and the
ORM reads it as before. On PostgreSQL (and in-memory SQLite) the batch goes through SQLAlchemy
Core (`insert_events_through_engine`).

Events older than APPCREDS_EVENT_RETENTION_DAYS are deleted by the same thread, at most once
an hour per process, in batches of EVENT_PURGE_BATCH rows, each its own short transaction, so
no request waits behind one long DELETE (`purge_old_events`). Inspections (the `inspection`
column) are cleared sooner, after APPCREDS_INSPECTION_RETENTION_DAYS, the same way
(`purge_old_inspections`); the event itself stays.
"""
import atexit
import logging
import os
import sqlite3
import threading
import time
from datetime import timedelta
from operator import itemgetter

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import IntegrityError

from models.database import db
from models.sqlite_tuning import OwnConnection, WritersPerFile
from models.timeutil import UTCDateTime, utcnow

log = logging.getLogger("appcreds.events")


class AuthEvent(db.Model):
    __tablename__ = "auth_events"
    __table_args__ = (db.Index("ix_auth_events_client_pk_created_at", "client_pk", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # What happened: client_authentication, secret_revealed, secret_rotated, credential_added ...
    event_type = db.Column(db.String(40), nullable=False, default="client_authentication")
    # The client id exactly as the request sent it (may name no application).
    client_id_sent = db.Column(db.String(128), nullable=True)
    client_pk = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="SET NULL"), nullable=True)
    # The protocol endpoint of an attempt (token, par, ...), or the door a change came through (DOORS).
    endpoint = db.Column(db.String(32), nullable=True)
    method = db.Column(db.String(40), nullable=True)
    grant_type = db.Column(db.String(40), nullable=True)  # of a token request (the Management API's log types)
    outcome = db.Column(db.String(10), nullable=False)  # success | failure
    reason_code = db.Column(db.String(64), nullable=False)
    reason = db.Column(db.Text, nullable=False)
    source_ip = db.Column(db.String(64), nullable=True)
    actor = db.Column(db.String(254), nullable=True)  # who made a change: a person, the command line, an application
    # The inspector's record of an attempt: each check made, in order, with what it expected and saw, and the
    # decoded JOSE header and claims or the certificate summary (blueprints/oauth/inspection.py). NULL when
    # not kept. Deferred: lists of events never load it; `inspectable` says whether there is one.
    inspection = db.deferred(db.Column(db.JSON(none_as_null=True), nullable=True))
    inspectable = db.column_property(inspection.columns[0].isnot(None))


# The doors through which an application can be changed; each records its changes with record_change.
DASHBOARD, COMMAND_LINE, MANAGEMENT_API = "dashboard", "cli", "management_api"
DOORS = (DASHBOARD, COMMAND_LINE, MANAGEMENT_API)

# Protocol events beside client_authentication, each with its own event_type:
TOKEN_REQUEST = "token_request"          # a token request as a whole: issued, or the RFC 6749 error
TOKEN_USE = "token_use"                  # an access token presented to the Management API: accepted or refused
USER_LOGIN = "user_login"                # an end user signing in at /account/login
CONSENT_GIVEN, CONSENT_DENIED, CONSENT_WITHDRAWN = "consent_given", "consent_denied", "consent_withdrawn"
CODE_ISSUED = "code_issued"              # an authorization code sent to the redirect URI (its redemption
                                         # is the token_request with grant_type authorization_code)

# Events of every protocol request: their successes are logged at DEBUG (failures, changes and sign-ins at INFO).
PER_REQUEST_EVENTS = ("client_authentication", TOKEN_USE)

EVENT_PURGE_BATCH = 500
EVENT_PURGE_INTERVAL = 3600.0  # seconds between purges in one process

EVENT_COLUMNS = tuple(column.name for column in AuthEvent.__table__.columns if column.name != "id")
_EVENT_COLUMN_NAMES = frozenset(EVENT_COLUMNS)

# The SQLite statement as SQLAlchemy compiles it for a batch (qmark parameters, every column but id).
_SQLITE_INSERT = insert(AuthEvent.__table__).compile(dialect=sqlite.dialect(), column_keys=list(EVENT_COLUMNS))
if tuple(_SQLITE_INSERT.positiontup) != EVENT_COLUMNS:
    raise RuntimeError("the auth_events INSERT binds its columns in another order: EventWriter must follow it")
SQLITE_INSERT_EVENTS_SQL = _SQLITE_INSERT.string
_CLIENT_PK = EVENT_COLUMNS.index("client_pk")
_values_of = itemgetter(*EVENT_COLUMNS)  # a row's values, in the statement's order


def loggable(value) -> str:
    """`value` for one line of a log: control and other unprintable characters as Python escapes."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class EventRecorder:
    """A per-process buffer of AuthEvent rows, flushed in batches by a daemon thread."""

    def __init__(self, app, flush_seconds: float):
        self.app = app
        self.flush_seconds = flush_seconds
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._pid = None
        self._next_purge = 0.0

    def record(self, log_line: bool = True, **fields) -> None:
        """Buffer one row; and write its log line, unless the caller's event already has one."""
        unknown = fields.keys() - _EVENT_COLUMN_NAMES
        if unknown:
            raise TypeError(f"AuthEvent has no column {sorted(unknown)[0]}")
        # Every row names every column: one INSERT serves the whole batch (executemany).
        row = {column: fields.get(column) for column in EVENT_COLUMNS}
        row["created_at"] = row["created_at"] or utcnow()
        row["event_type"] = row["event_type"] or "client_authentication"
        row["reason"] = row["reason"] or row["reason_code"].replace("_", " ")
        with self._lock:
            self._rows.append(row)
        # One line per token would cost more than the rest of the event: those successes log at DEBUG.
        level = logging.DEBUG if row["outcome"] == "success" and row["event_type"] in PER_REQUEST_EVENTS \
            else logging.INFO
        # Every value escaped: a client_id with a line break must not write a line of its own.
        if log_line and log.isEnabledFor(level):
            log.log(
                level, "%s %s client_id=%s method=%s endpoint=%s reason=%s",
                *(loggable(row[column]) for column in ("event_type", "outcome", "client_id_sent", "method",
                                                        "endpoint", "reason_code")),
            )
        if self.flush_seconds <= 0:
            self.flush()
            self.purge_now_and_then()
        else:
            self._ensure_thread()

    def flush(self) -> int:
        """Write the buffered rows in one transaction; returns how many were written."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with self.app.app_context():
                self._insert(rows)
        except Exception:  # never lose the request over the log, but say so loudly
            log.exception("could not write %d auth events", len(rows))
            return 0
        return len(rows)

    @staticmethod
    def _insert(rows: list[dict]) -> None:
        engine = db.engine
        writer = event_writer(engine)
        if writer is not None:
            writer.insert(rows)
        else:
            insert_events_through_engine(engine, rows)

    def _ensure_thread(self):
        # A thread started before gunicorn forked does not exist in the child: start one per process.
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="appcreds-event-flush", daemon=True)
            self._thread.start()
            atexit.register(self.flush)  # a clean worker exit writes what is still buffered

    def _run(self):
        while True:
            self._wake.wait(self.flush_seconds)
            self.flush()
            self.purge_now_and_then()

    def purge_now_and_then(self) -> int:
        """Delete events past the retention period, at most once per EVENT_PURGE_INTERVAL in this process."""
        if time.monotonic() < self._next_purge:
            return 0
        self._next_purge = time.monotonic() + EVENT_PURGE_INTERVAL
        try:
            with self.app.app_context():
                config = self.app.config
                return (purge_old_events(int(config["APPCREDS_EVENT_RETENTION_DAYS"]))
                        + purge_old_inspections(int(config["APPCREDS_INSPECTION_RETENTION_DAYS"])))
        except Exception:  # the next purge tries again; never take the request or the thread down
            log.exception("could not purge old auth events")
            return 0


def insert_events_through_engine(engine: Engine, rows: list[dict]) -> None:
    """Insert a batch in one transaction through SQLAlchemy Core: PostgreSQL, in-memory SQLite (and tests, bench)."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(AuthEvent), rows)
    except IntegrityError:
        from models.client import Client

        # An application was deleted after its event was buffered: keep the event, as the
        # foreign key's ON DELETE SET NULL would have done had it been written first.
        with engine.begin() as connection:
            existing = set(connection.execute(select(Client.id)).scalars())
            for row in rows:
                if row["client_pk"] not in existing:
                    row["client_pk"] = None
            connection.execute(insert(AuthEvent), rows)


def event_writer(engine: Engine) -> "EventWriter | None":
    """This process's event writer for the engine's SQLite file (created at the first call), or None."""
    return _writers.for_engine(engine)


class EventWriter(OwnConnection):
    """One process's own sqlite3 connection to a SQLite file, for the event batches only.

    The connection is in autocommit, so a batch is wrapped in its own BEGIN IMMEDIATE ... COMMIT
    (ROLLBACK on error): one transaction, as through the engine. IMMEDIATE takes the write lock at
    once, waiting for it as busy_timeout says, so the deleted-application retry reads the clients
    and inserts in one snapshot. The app's pragmas, foreign keys included: an event of a deleted
    application fails as it would through the engine, and is retried without its client_pk.

    The connection belongs to the process that opened it (OwnConnection): a worker's first flush
    opens its own, and it is closed with the engine.
    """

    def __init__(self, database_path: str, dialect: Dialect):
        super().__init__(database_path)
        # The bind processors SQLAlchemy itself would apply on this engine (its dialect: its JSON
        # serializer), by position; the other columns have none and pass as they are.
        table = AuthEvent.__table__
        processors = ((index, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                      for index, name in enumerate(EVENT_COLUMNS))
        self._processors = [(index, process) for index, process in processors if process is not None]

    def insert(self, rows: list[dict]) -> None:
        """As insert_events_through_engine: the batch in one transaction; an event whose application
        was deleted meanwhile is kept with client_pk NULL."""
        parameters = [self._parameters(row) for row in rows]
        with self._lock:
            connection = self._own_connection()
            try:
                self._send(connection, parameters)
            except sqlite3.IntegrityError:
                self._send(connection, parameters, only_existing_clients=True)

    def _parameters(self, row: dict) -> list:
        values = list(_values_of(row))
        for index, process in self._processors:
            values[index] = process(values[index])
        return values

    @staticmethod
    def _send(connection: sqlite3.Connection, parameters: list[list], only_existing_clients: bool = False) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            if only_existing_clients:
                # As the foreign key's ON DELETE SET NULL would have done had the event been written first.
                existing = {client_pk for (client_pk,) in connection.execute("SELECT id FROM clients")}
                for values in parameters:
                    if values[_CLIENT_PK] not in existing:
                        values[_CLIENT_PK] = None
            connection.executemany(SQLITE_INSERT_EVENTS_SQL, parameters)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


_writers = WritersPerFile(EventWriter)


def purge_old_events(retention_days: int, batch: int = EVENT_PURGE_BATCH) -> int:
    """Delete events older than `retention_days` (0 keeps them all), `batch` rows per transaction."""
    if retention_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=retention_days)
    return change_in_batches([AuthEvent.created_at < cutoff],
                             lambda ids: delete(AuthEvent).where(AuthEvent.id.in_(ids)), batch)


def purge_old_inspections(retention_days: int, batch: int = EVENT_PURGE_BATCH) -> int:
    """Clear the inspection of events older than `retention_days` (0 keeps them), `batch` rows per transaction."""
    if retention_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=retention_days)
    return change_in_batches([AuthEvent.created_at < cutoff, AuthEvent.inspection.isnot(None)],
                             lambda ids: update(AuthEvent).where(AuthEvent.id.in_(ids)).values(inspection=None), batch)


def change_in_batches(conditions: list, change, batch: int) -> int:
    """Apply `change(ids)` to the events matching `conditions`, oldest first, `batch` of them per short
    transaction, so no request waits behind one long statement; returns how many were changed."""
    changed = 0
    while True:
        with db.engine.begin() as connection:
            ids = connection.execute(select(AuthEvent.id).where(*conditions)
                                     .order_by(AuthEvent.id).limit(batch)).scalars().all()
            if ids:
                connection.execute(change(ids))
        changed += len(ids)
        if len(ids) < batch:
            return changed
