"""What one token request costs the database: the hot path does only what correctness needs.

A client-secret request asks one thing: is the worker's snapshot of the application still
current (models/client_snapshots.py)? A Private Key JWT request also inserts its jti (replay,
RFC 7523 §3 item 7). The event log is written later, in batches, by another thread.
"""
import base64

import pytest
from sqlalchemy import event

from models import db
from tests.conftest import _make_app
from tests.factories import DEMO_API, TOKEN_URL, make_app, make_assertion, make_jwt_app

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def batched_app(instance_path):
    """The production setting: events buffered (flushed every 60 s here, so never during a request)."""
    app = _make_app(instance_path, APPCREDS_EVENT_FLUSH_SECONDS=60)
    yield app
    with app.app_context():
        db.engine.dispose()


def statements_during(app, send) -> list[str]:
    """The SQL statements the request thread sends while `send()` runs (after one warm-up request)."""
    seen = []

    def count(_connection, _cursor, statement, *_args):
        seen.append(statement.split()[0].upper() + " " + statement.split()[1 if len(statement.split()) > 1 else 0])

    send()  # warm: the worker's snapshot of the application is loaded once
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        send()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def test_a_client_secret_token_costs_one_database_round_trip(batched_app):
    client_id, secret = make_app(batched_app)
    client = batched_app.test_client()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def send():
        response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                               headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200, response.json

    assert len(statements_during(batched_app, send)) == 1


def test_a_private_key_jwt_token_adds_only_its_jti_insert(batched_app):
    client_id, key, kid = make_jwt_app(batched_app)
    client = batched_app.test_client()

    def send():
        response = client.post(TOKEN_URL, data={
            "grant_type": "client_credentials", "audience": DEMO_API, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": make_assertion(client_id, key, kid)})
        assert response.status_code == 200, response.json

    statements = statements_during(batched_app, send)
    assert len(statements) <= 2 and sum(s.startswith("INSERT") for s in statements) == 1, statements
