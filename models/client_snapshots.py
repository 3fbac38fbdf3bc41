"""Per-worker snapshots of applications, for the protocol endpoints.

Loading an application through the ORM (with its grants and credentials) costs more than the
RSA signature of the token. So each worker keeps the applications it has loaded and, per
request, asks the database one cheap question: is the application's `version` still the one
this snapshot has? Every change to an application, its API grants or its credentials
increments `version` in the same transaction (models/client.py, count_application_changes),
so a rotated secret, a deleted key or a deleted application is refused at the very next
request, in every worker and on every server sharing the database.

Snapshots are detached from any session and only read: code that changes an application
loads its own copy (models/applications.py).
"""
from collections import OrderedDict

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import db
from models.client import Client

MAX_SNAPSHOTS = 10_000  # per worker (a snapshot is a few KB); past it the least recently used one goes

_VERSION = select(Client.__table__.c.version).where(Client.__table__.c.client_id == bindparam("client_id"))
_WHOLE_APPLICATION = (
    select(Client).where(Client.client_id == bindparam("client_id"))
    .options(joinedload(Client.grants), selectinload(Client.credentials))
)


class ClientSnapshots:
    def __init__(self, capacity: int = MAX_SNAPSHOTS):
        self.capacity = capacity
        # Least recently used first: a working set larger than the capacity evicts one at a time,
        # instead of starting over and missing on every application at once.
        self._snapshots: OrderedDict[str, Client] = OrderedDict()

    def find(self, client_id: str) -> Client | None:
        """The application with this client id as it is now in the database, or None."""
        version = db.session.connection().execute(_VERSION, {"client_id": client_id}).scalar_one_or_none()
        if version is None:
            self._snapshots.pop(client_id, None)
            return None
        snapshot = self._snapshots.get(client_id)
        if snapshot is not None and snapshot.version == version:
            self._snapshots.move_to_end(client_id)
            return snapshot
        return self._load(client_id)

    def _load(self, client_id: str) -> Client | None:
        # Its own short session: the snapshot must outlive the request, never be expired by a commit.
        with Session(db.engine, expire_on_commit=False) as session:
            snapshot = session.execute(_WHOLE_APPLICATION, {"client_id": client_id}).unique().scalar_one_or_none()
        if snapshot is None:
            return None
        self._snapshots[client_id] = snapshot
        self._snapshots.move_to_end(client_id)
        while len(self._snapshots) > self.capacity:
            self._snapshots.popitem(last=False)
        return snapshot

    def __contains__(self, client_id: str) -> bool:
        return client_id in self._snapshots
