"""What one token request costs the database: the hot path does only what correctness needs.

A client-secret request asks one thing: is the worker's snapshot of the application still
current (models/client_snapshots.py)? On a SQLite file the worker first reads `PRAGMA
data_version` on its own connection (CommitWatch); when nothing was committed since its last
look, that pragma is all: no table is read. It is counted apart from the other statements,
because it reads no table, only a counter SQLite keeps in shared memory. A Private Key JWT
request also records its jti (replay, RFC 7523 §3 item 7) - on a SQLite file in the LMDB store
beside it (models/used_assertions.py): one write transaction there, no statement to the
database, and no commit that would make the next request ask for the version again. The event
log is written later, in batches, by another thread.
"""
import base64

import pytest
from sqlalchemy import event

from models import db
from models.state import app_state
from models.used_assertions import jti_store
from tests.conftest import _make_app
from tests.factories import DEMO_API, TOKEN_URL, make_app, make_assertion, make_jwt_app

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PRAGMA = "PRAGMA DATA_VERSION"  # statements are compared by their first two words, upper-cased


@pytest.fixture
def batched_app(instance_path):
    """The production setting: events buffered (flushed every 60 s here, so never during a request)."""
    app = _make_app(instance_path, APPCREDS_EVENT_FLUSH_SECONDS=60)
    yield app
    with app.app_context():
        db.engine.dispose()


def statements_during(app, send) -> list[str]:
    """The SQL statements the request thread sends while `send()` runs: through the engine, and on
    the snapshots' own SQLite connection (CommitWatch), its pragma included."""
    seen = []

    def note(statement):
        seen.append(" ".join(statement.split()[:2]).upper())

    def count(_connection, _cursor, statement, *_args):
        note(statement)

    with app.app_context():
        engine = db.engine
    watch = app_state(app).client_snapshots.commit_watch
    assert watch is not None, "a SQLite file: the snapshots watch its commits with PRAGMA data_version"
    event.listen(engine, "before_cursor_execute", count)
    watch.connection().set_trace_callback(note)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", count)
        watch.connection().set_trace_callback(None)
    return seen


def token_with_secret(app):
    """A send() that gets one token with a client secret (after one warm-up request)."""
    client_id, secret = make_app(app)
    client = app.test_client()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def send():
        response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                               headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200, response.json

    send()  # warm: the worker's snapshot of the application is loaded once
    return send


def test_a_client_secret_token_reads_no_table_when_nothing_was_committed(batched_app):
    assert statements_during(batched_app, token_with_secret(batched_app)) == [PRAGMA]


def test_after_any_commit_a_client_secret_token_asks_for_the_version_once(batched_app):
    """Any commit changes data_version, the worker's own included (here: another application,
    created through this app's engine). The version is asked; the snapshot, unchanged, is kept."""
    send = token_with_secret(batched_app)
    make_app(batched_app, name="Another application")
    assert statements_during(batched_app, send) == [PRAGMA, "SELECT VERSION"]


def test_a_private_key_jwt_token_adds_only_its_jti_record_outside_the_database(batched_app):
    client_id, key, kid = make_jwt_app(batched_app)
    client = batched_app.test_client()

    def send():
        response = client.post(TOKEN_URL, data={
            "grant_type": "client_credentials", "audience": DEMO_API, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": make_assertion(client_id, key, kid)})
        assert response.status_code == 200, response.json

    send()  # warm: the worker's snapshot of the application and its keys is loaded once
    with batched_app.app_context():
        store = jti_store(db.engine)
    assert store is not None, "a SQLite file: jtis are recorded in the LMDB store beside it"
    records, transactions = store.count(), store.connection().env.info()["last_txnid"]
    assert statements_during(batched_app, send) == [PRAGMA]
    assert store.count() == records + 1  # its jti, in one write transaction
    assert store.connection().env.info()["last_txnid"] == transactions + 1
