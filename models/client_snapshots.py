"""Per-worker snapshots of applications, for the protocol endpoints.

Loading an application with its grants and its credentials takes three queries (a few hundred
µs on SQLite; bench/snapshot_load.py), where checking its version takes one or none. So each
worker keeps the applications it has loaded, and before handing one out makes sure it is still
what the database holds. Every change to an application, its API grants or its credentials
increments `version` in the same transaction (models/client.py, count_application_changes), so a
rotated secret, a deleted key or a deleted application is refused at the very next request, in
every worker and on every server sharing the database.

How a worker knows a snapshot is current:
- on a SQLite file, it first asks `PRAGMA data_version` on a connection of its own (CommitWatch).
  The answer changes whenever any other connection has committed anything since the last look.
  Unchanged: nothing at all was committed, so a snapshot checked since the last change is served
  with no query. Changed: the snapshot's version is asked again, as below;
- on any other database (PostgreSQL), it asks for the version at every request. PostgreSQL could
  announce changes with LISTEN/NOTIFY, but only to a connection that listens all the time: a
  listener thread per worker, and a request would still have to trust that thread is up to date.

A snapshot is a plain copy (ClientSnapshot): the application's columns, its grants and its
credentials in slotted objects with no ORM state, about a third of the memory of the ORM
objects (bench/snapshot_memory.py measures it), and only read: code that changes an
application loads its own copy (models/applications.py).

How a snapshot is loaded: with SQLAlchemy Core, not the ORM. Three SELECTs of the tables'
columns - the `clients` row by client id, then its `client_grants` and its `credentials` rows,
in the order of Client.grants and Client.credentials - on one connection, and the rows go
straight into the slotted objects. Selecting `table.c` columns still applies each column
type's result processing (aware datetimes from UTCDateTime, Python objects from JSON), so the
values are the ones the ORM would give; what the ORM adds, an identity map and loader
machinery, would be thrown away at once, and skipping it more than halves the cost of a miss
(bench/snapshot_load.py). With more applications than a worker keeps, misses are what limit
the token endpoint.

A worker's first find loads every application (up to the capacity) in one read of each table
(load_snapshots, ClientSnapshots._preload), so a worker that has just started does not miss once
per application it serves.

The copy is loaded after the version check, so it holds that version or a newer one. Its three
SELECTs read one committed state of the database (read_one_state), so the version it holds is
the version of its grants and credentials too.
"""
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import Column, bindparam, event, select
from sqlalchemy import inspect as inspect_model
from sqlalchemy.engine import Connection, Engine

from models import db
from models.client import Client, ClientGrant
from models.credential import Credential
from models.sqlite_tuning import OwnConnection, own_connection, sqlite_file_of

MAX_SNAPSHOTS = 10_000  # per worker, by default (setting APPCREDS_CLIENT_SNAPSHOT_CAPACITY)

_VERSION = select(Client.__table__.c.version).where(Client.__table__.c.client_id == bindparam("client_id"))


def column_names(model) -> tuple[str, ...]:
    """The attribute name of every column of a model."""
    return tuple(attribute.key for attribute in inspect_model(model).column_attrs)


def table_columns(model) -> tuple[Column, ...]:
    """The table column behind each of `column_names(model)`, in the same order.

    The attribute name and the column name may differ (`db.Column("name", ...)` under another
    attribute name): a row is read by position, each value going to its attribute.
    """
    return tuple(attribute.columns[0] for attribute in inspect_model(model).column_attrs)


class GrantSnapshot:
    """A ClientGrant's columns, as plain attributes."""

    __slots__ = column_names(ClientGrant)


class CredentialSnapshot:
    """A Credential's columns, as plain attributes, and its one rule."""

    __slots__ = column_names(Credential)
    is_expired = Credential.is_expired


class ClientSnapshot(ClientMixin):
    """An application's columns, its `grants` and `credentials`, as plain attributes.

    Client's own methods, not copies of them: each reads only these attributes.
    """

    __slots__ = (*column_names(Client), "grants", "credentials")
    has_secret = Client.has_secret
    get_client_id = Client.get_client_id
    get_default_redirect_uri = Client.get_default_redirect_uri
    get_allowed_scope = Client.get_allowed_scope
    check_redirect_uri = Client.check_redirect_uri
    check_endpoint_auth_method = Client.check_endpoint_auth_method
    check_response_type = Client.check_response_type
    check_grant_type = Client.check_grant_type
    grant_for = Client.grant_for
    __repr__ = Client.__repr__

    @classmethod
    def of(cls, client: Client) -> "ClientSnapshot":
        """A copy of an application loaded through the ORM, its grants and its credentials (in their order).

        Workers load snapshots with load_snapshot below; this copy is what tests compare them with.
        """
        snapshot = copy_columns(client, cls)
        snapshot.grants = [copy_columns(grant, GrantSnapshot) for grant in client.grants]
        snapshot.credentials = [copy_columns(credential, CredentialSnapshot) for credential in client.credentials]
        return snapshot


def copy_columns(loaded, snapshot_class):
    """A `snapshot_class` holding the column values of an ORM object."""
    snapshot = snapshot_class()
    for name in column_names(type(loaded)):
        setattr(snapshot, name, getattr(loaded, name))
    return snapshot


# Built once, at import. The children are selected by the application's primary key (each table
# has an index on client_pk) and ordered as the relationships order them.
_APPLICATION_ROW = select(*table_columns(Client)).where(Client.__table__.c.client_id == bindparam("client_id"))
_GRANT_ROWS = (select(*table_columns(ClientGrant)).where(ClientGrant.__table__.c.client_pk == bindparam("client_pk"))
               .order_by(*Client.grants.property.order_by))
_CREDENTIAL_ROWS = (select(*table_columns(Credential)).where(Credential.__table__.c.client_pk == bindparam("client_pk"))
                    .order_by(*Client.credentials.property.order_by))


def copy_row(row, snapshot_class, names: tuple[str, ...]):
    """A `snapshot_class` holding a row's values, the i-th value in the attribute names[i]."""
    snapshot = snapshot_class()
    for name, value in zip(names, row, strict=True):
        setattr(snapshot, name, value)
    return snapshot


_CLIENT_NAMES = column_names(Client)
_GRANT_NAMES = column_names(ClientGrant)
_CREDENTIAL_NAMES = column_names(Credential)


def load_snapshot(connection: Connection, client_id: str) -> ClientSnapshot | None:
    """The application with this client id, its grants and its credentials, read on `connection`; or None."""
    row = connection.execute(_APPLICATION_ROW, {"client_id": client_id}).first()
    if row is None:
        return None
    snapshot = copy_row(row, ClientSnapshot, _CLIENT_NAMES)
    children = {"client_pk": snapshot.id}
    snapshot.grants = [copy_row(grant, GrantSnapshot, _GRANT_NAMES)
                       for grant in connection.execute(_GRANT_ROWS, children)]
    snapshot.credentials = [copy_row(credential, CredentialSnapshot, _CREDENTIAL_NAMES)
                            for credential in connection.execute(_CREDENTIAL_ROWS, children)]
    return snapshot


# Every application at once, for a worker's first use of its cache (ClientSnapshots._preload):
# each table read once, the children in their owner's order.
_ALL_APPLICATION_ROWS = select(*table_columns(Client)).order_by(Client.__table__.c.id).limit(bindparam("limit"))
_ALL_GRANT_ROWS = select(*table_columns(ClientGrant)).order_by(ClientGrant.__table__.c.client_pk,
                                                              *Client.grants.property.order_by)
_ALL_CREDENTIAL_ROWS = select(*table_columns(Credential)).order_by(Credential.__table__.c.client_pk,
                                                                  *Client.credentials.property.order_by)


def load_snapshots(connection: Connection, limit: int) -> list[ClientSnapshot]:
    """Up to `limit` applications (the oldest first), each with its grants and credentials, read on `connection`."""
    by_pk: dict[int, ClientSnapshot] = {}
    for row in connection.execute(_ALL_APPLICATION_ROWS, {"limit": limit}):
        snapshot = copy_row(row, ClientSnapshot, _CLIENT_NAMES)
        snapshot.grants, snapshot.credentials = [], []
        by_pk[snapshot.id] = snapshot
    for row in connection.execute(_ALL_GRANT_ROWS):
        grant = copy_row(row, GrantSnapshot, _GRANT_NAMES)
        if grant.client_pk in by_pk:
            by_pk[grant.client_pk].grants.append(grant)
    for row in connection.execute(_ALL_CREDENTIAL_ROWS):
        credential = copy_row(row, CredentialSnapshot, _CREDENTIAL_NAMES)
        if credential.client_pk in by_pk:
            by_pk[credential.client_pk].credentials.append(credential)
    return list(by_pk.values())


@contextmanager
def read_one_state(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads, until the block ends, all see one committed state of the database.

    A transaction alone does not promise that:
    - on SQLite, Python's sqlite3 sends no BEGIN before a SELECT, so each SELECT would be a read
      transaction of its own, and a commit between two of them would be seen by the second only.
      An explicit BEGIN makes them one read transaction (ended by the rollback on leaving);
    - on PostgreSQL, READ COMMITTED (the default) takes a new snapshot for each statement;
      REPEATABLE READ takes one for the whole transaction, and a transaction that only reads is
      never refused at that level.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")
        elif connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection


class ClientSnapshots:
    """One worker's snapshots, at most `capacity` of them (the least recently used one goes first)."""

    def __init__(self, capacity: int = MAX_SNAPSHOTS, watch_commits: bool = True, preload: bool = True):
        self.capacity = capacity
        self._preload_pending = preload  # load every application (up to capacity) at the first find
        # Least recently used first: a working set larger than the capacity evicts one at a time,
        # instead of starting over and missing on every application at once. Each entry is
        # (snapshot, the CommitWatch look in which its version was last confirmed).
        self._snapshots: OrderedDict[str, tuple[ClientSnapshot, int | None]] = OrderedDict()
        self._lock = threading.Lock()  # threaded servers: one entry is read and moved at a time
        self._watch_commits = watch_commits
        self.commit_watch: CommitWatch | None = None  # opened at the first look, for a SQLite file only

    def find(self, client_id: str) -> ClientSnapshot | None:
        """The application with this client id as it is now in the database, or None."""
        if self._preload_pending:
            self._preload()
        look = self._look()
        with self._lock:
            entry = self._snapshots.get(client_id)
            if entry is not None and look is not None and entry[1] == look:
                self._snapshots.move_to_end(client_id)
                return entry[0]  # nothing was committed anywhere since this snapshot was confirmed
        version = self._version_of(client_id)
        if version is None:
            with self._lock:
                self._snapshots.pop(client_id, None)
            return None
        if entry is not None and entry[0].version == version:
            self._keep(client_id, entry[0], look)
            return entry[0]
        return self._load(client_id, look)

    def _preload(self) -> None:
        """Load up to `capacity` applications in one read, at this cache's first use.

        A worker that has just started then finds every application it serves already loaded, where
        one load per application and worker costs about 174 µs (bench/snapshot_load.py), and more
        when they come one at a time: after a restart with 100,000 applications, minutes of misses.
        The look is taken before the read: a commit during it changes the next look, so the next
        find of each of these snapshots checks its version first.
        """
        with self._lock:
            if not self._preload_pending:
                return  # another thread of this worker is doing it, or did
            self._preload_pending = False
        look = self._look()
        with read_one_state(db.engine) as connection:
            snapshots = load_snapshots(connection, self.capacity)
        with self._lock:
            for snapshot in snapshots:
                # setdefault: an entry another thread loaded meanwhile is as new as this one or newer.
                self._snapshots.setdefault(snapshot.client_id, (snapshot, look))

    def _look(self) -> int | None:
        """The commit watch's current look, or None when there is none (not a SQLite file)."""
        if not self._watch_commits:
            return None
        if self.commit_watch is None:
            with self._lock:  # one watch: a look number means something only to the watch that gave it
                if self.commit_watch is None:
                    self.commit_watch = CommitWatch.for_engine(db.engine)
                    if self.commit_watch is not None:  # closed with the engine's connections (tests, shutdown)
                        event.listen(db.engine, "engine_disposed", self.commit_watch.close)
            if self.commit_watch is None:
                self._watch_commits = False
                return None
        return self.commit_watch.look()

    def _version_of(self, client_id: str) -> int | None:
        if self.commit_watch is not None:
            # On the watch's connection, after its look: this read sees every commit that look saw.
            return self.commit_watch.version_of(client_id)
        return db.session.connection().execute(_VERSION, {"client_id": client_id}).scalar_one_or_none()

    def _load(self, client_id: str, look: int | None) -> ClientSnapshot | None:
        # Its own connection, read after the version check: the copy holds that version or a newer one.
        with read_one_state(db.engine) as connection:
            snapshot = load_snapshot(connection, client_id)
        if snapshot is not None:
            self._keep(client_id, snapshot, look)
        return snapshot

    def _keep(self, client_id: str, snapshot: ClientSnapshot, look: int | None) -> None:
        with self._lock:
            self._snapshots[client_id] = (snapshot, look)
            self._snapshots.move_to_end(client_id)
            while len(self._snapshots) > self.capacity:
                self._snapshots.popitem(last=False)

    def __contains__(self, client_id: str) -> bool:
        return client_id in self._snapshots

    def __len__(self) -> int:
        return len(self._snapshots)


class CommitWatch(OwnConnection):
    """Has anything been committed to this SQLite file since the last look? (`PRAGMA data_version`)

    SQLite changes a connection's data_version when *another* connection commits, never for its
    own commits. So the watch has a connection to itself, opened read-only (`query_only`) and used
    for nothing else: every commit - by another worker, the command line, or this worker's own
    requests and event log - is another connection's, and changes what the next look reads.

    The connection belongs to one process (OwnConnection): gunicorn builds the app and then forks
    its workers, and a SQLite connection must not cross a fork
    (https://www.sqlite.org/howtocorrupt.html §2.6), so it is opened at the first look in each
    process, and a look in a new process opens a new one.
    """

    def __init__(self, database_path: str):
        super().__init__(database_path)
        self._data_version: int | None = None
        self._look = 0

    @classmethod
    def for_engine(cls, engine: Engine) -> "CommitWatch | None":
        """A watch on the engine's database when it is a SQLite file; None otherwise."""
        path = sqlite_file_of(engine)
        return cls(path) if path is not None else None

    def look(self) -> int:
        """A number that stays the same exactly as long as nothing is committed to the database."""
        with self._lock:
            # fetchall, here and below: each statement runs to its end. One left part-way would keep
            # its read transaction open, and a look inside that transaction never sees a commit.
            data_version = self._own_connection().execute("PRAGMA data_version").fetchall()[0][0]
            if data_version != self._data_version:
                self._data_version = data_version
                self._look += 1
            return self._look

    def version_of(self, client_id: str) -> int | None:
        """The application's `version`, or None when no application has this client id."""
        with self._lock:
            rows = self._own_connection().execute("SELECT version FROM clients WHERE client_id = ?",
                                                  (client_id,)).fetchall()
        return rows[0][0] if rows else None

    def close(self, _engine=None) -> None:
        """Close this process's connection (the engine's engine_disposed event); the next look opens
        another and trusts no earlier look."""
        super().close()

    def _open(self) -> sqlite3.Connection:
        connection = own_connection(self.database_path)  # autocommit: every statement reads the latest commit
        connection.execute("PRAGMA query_only = ON")
        self._data_version = None  # a new connection's numbers say nothing about the old one's
        return connection
