"""Per-worker application snapshots (models/client_snapshots.py): reused while the application's
version is unchanged, reloaded at the very next request after any change, in every worker.

On a SQLite file a snapshot is reused with no query while PRAGMA data_version is unchanged
(CommitWatch); tests/oauth/test_round_trips.py counts the statements, and
tests/e2e/test_client_snapshots_e2e.py changes applications under a real two-worker gunicorn."""
import base64
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from models import Client, ClientGrant, Credential, client_snapshots, db, sqlite_tuning
from models.applications import find_application, grant_api, revoke_api_grant, rotate_secret
from models.client_snapshots import ClientSnapshot, ClientSnapshots, column_names
from models.credential_registry import (
    add_certificate_credential,
    add_public_key_credential,
    delete_credential,
    rename_credential,
)
from models.state import app_state
from tests.certificates import self_signed_certificate
from tests.conftest import _make_app
from tests.factories import (
    DEMO_API,
    ISSUER,
    TOKEN_URL,
    make_app,
    make_assertion,
    make_jwt_app,
    make_rsa_key,
    public_pem,
    register_key,
)


def version_of(app, client_id) -> int:
    with app.app_context():
        return db.session.execute(db.select(Client.version).where(Client.client_id == client_id)).scalar_one()


def change(app, client_id, action):
    with app.app_context():
        client = find_application(client_id)
        action(client)
        db.session.commit()


def _add_key(client):
    add_public_key_credential(client, "private_key_jwt", public_pem(make_rsa_key("snapshot-key")))


@pytest.mark.parametrize("action", [
    rotate_secret,
    lambda client: setattr(client, "name", "Renamed"),
    lambda client: grant_api(client, DEMO_API, ["read:demo", "write:demo"]),
    lambda client: revoke_api_grant(client, DEMO_API),
    _add_key,
], ids=["rotate-secret", "rename", "change-grant", "revoke-grant", "add-credential"])
def test_every_change_increments_the_version(app, action):
    client_id, _ = make_app(app)
    before = version_of(app, client_id)
    change(app, client_id, action)
    assert version_of(app, client_id) > before


def test_changing_or_deleting_a_credential_increments_the_version(app):
    client_id, _ = make_app(app)
    change(app, client_id, _add_key)
    before = version_of(app, client_id)
    change(app, client_id, lambda client: rename_credential(client.credentials[0], "renamed"))
    renamed = version_of(app, client_id)
    change(app, client_id, lambda client: delete_credential(client, client.credentials[0]))
    assert before < renamed < version_of(app, client_id)


def test_a_snapshot_is_reused_until_the_application_changes(app):
    client_id, _ = make_app(app)
    snapshots = app_state(app).client_snapshots
    with app.app_context():
        first, again = snapshots.find(client_id), snapshots.find(client_id)
    assert first is again
    change(app, client_id, rotate_secret)
    with app.app_context():
        reloaded = snapshots.find(client_id)
    assert reloaded is not first and reloaded.secret_digest != first.secret_digest


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_a_rotation_in_one_worker_is_seen_by_another_at_its_next_request(app, instance_path):
    """Two app objects on one database stand for two gunicorn workers, each with its snapshots."""
    other_worker = _make_app(instance_path)
    client_id, old_secret = make_app(app)
    form = {"grant_type": "client_credentials", "audience": DEMO_API}
    worker_client = other_worker.test_client()
    assert worker_client.post(TOKEN_URL, data=form, headers=basic(client_id, old_secret)).status_code == 200
    with app.app_context():
        new_secret = rotate_secret(find_application(client_id))
        db.session.commit()
    assert worker_client.post(TOKEN_URL, data=form, headers=basic(client_id, old_secret)).status_code == 401
    assert worker_client.post(TOKEN_URL, data=form, headers=basic(client_id, new_secret)).status_code == 200
    with app.app_context():
        db.session.delete(find_application(client_id))
        db.session.commit()
    assert worker_client.post(TOKEN_URL, data=form, headers=basic(client_id, new_secret)).status_code == 401
    with other_worker.app_context():
        db.engine.dispose()


def test_past_its_capacity_the_least_recently_used_snapshot_goes(app):
    """A working set larger than the cache evicts one application at a time, not all of them."""
    first, second, third = (make_app(app, name=f"LRU {n}")[0] for n in range(3))
    snapshots = ClientSnapshots(capacity=2)
    with app.app_context():
        kept = snapshots.find(first)
        snapshots.find(second)
        assert snapshots.find(first) is kept  # used again: now the most recent
        snapshots.find(third)  # over capacity: `second`, the least recently used, goes
        assert first in snapshots and third in snapshots and second not in snapshots
        assert snapshots.find(first) is kept


def test_a_deleted_key_in_one_worker_is_refused_by_another_at_its_next_request(app, instance_path):
    other_worker = _make_app(instance_path)
    client_id, deleted_key, deleted_kid = make_jwt_app(app)
    kept_key = make_rsa_key("snapshot-kept-key")
    kept_kid = register_key(app, client_id, kept_key)["kid"]
    worker_client = other_worker.test_client()

    def token_status(key, kid):
        return worker_client.post(TOKEN_URL, data={
            "grant_type": "client_credentials", "audience": DEMO_API, "client_assertion_type":
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": make_assertion(client_id, key, kid)}).status_code

    assert token_status(deleted_key, deleted_kid) == 200
    change(app, client_id, lambda client: delete_credential(
        client, next(c for c in client.credentials if c.kid == deleted_kid)))
    assert token_status(deleted_key, deleted_kid) == 401
    assert token_status(kept_key, kept_kid) == 200
    with other_worker.app_context():
        db.engine.dispose()


def test_the_capacity_is_a_setting(instance_path):
    app = _make_app(instance_path, APPCREDS_CLIENT_SNAPSHOT_CAPACITY=3)
    assert app_state(app).client_snapshots.capacity == 3
    with app.app_context():
        db.engine.dispose()


def engine_statements(app, action) -> list[str]:
    seen = []
    with app.app_context():
        engine = db.engine

    def listener(_connection, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        with app.app_context():
            action()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def test_without_the_commit_watch_every_find_asks_for_the_version(app):
    """The path every database but a SQLite file takes (PostgreSQL): one version query per find."""
    client_id, _ = make_app(app)
    snapshots = ClientSnapshots(watch_commits=False)
    with app.app_context():
        first = snapshots.find(client_id)
    statements = engine_statements(app, lambda: snapshots.find(client_id))
    assert len(statements) == 1 and "version" in statements[0], statements
    assert snapshots.commit_watch is None
    with app.app_context():
        assert snapshots.find(client_id) is first


def test_a_new_process_opens_its_own_watch_connection_and_checks_again(app, monkeypatch):
    """gunicorn forks workers from the process that built the app: a look in a new process opens
    a connection of its own, and no snapshot confirmed in the old one is trusted without a query."""
    client_id, _ = make_app(app)
    snapshots = app_state(app).client_snapshots
    with app.app_context():
        kept = snapshots.find(client_id)
    inherited = snapshots.commit_watch.connection()
    monkeypatch.setattr(sqlite_tuning, "getpid", lambda: -1)  # as if in a forked worker
    seen = []
    own = snapshots.commit_watch.connection()
    own.set_trace_callback(seen.append)
    with app.app_context():
        assert snapshots.find(client_id) is kept
    assert own is not inherited
    assert [statement.split()[0] for statement in seen] == ["PRAGMA", "SELECT"]


def test_disposing_the_engine_closes_the_watch_connection(app):
    """Its connection ends with the engine's (test teardown, shutdown); the next look opens another."""
    client_id, _ = make_app(app)
    snapshots = app_state(app).client_snapshots
    with app.app_context():
        kept = snapshots.find(client_id)
        closed = snapshots.commit_watch.connection()
        db.engine.dispose()
        with pytest.raises(sqlite3.ProgrammingError):
            closed.execute("SELECT 1")
        assert snapshots.find(client_id) is kept
        assert snapshots.commit_watch.connection() is not closed


def columns_of(model, row) -> dict:
    return {name: getattr(row, name) for name in column_names(model)}


def test_a_snapshot_answers_everything_the_application_does(app):
    """A snapshot holds every column of the application, its grants and credentials, and has
    every public method and property Client defines (a new one must be added to ClientSnapshot)."""
    client_id, _ = make_app(app)
    change(app, client_id, _add_key)
    with app.app_context():
        snapshot = app_state(app).client_snapshots.find(client_id)
        loaded = find_application(client_id)
        assert columns_of(Client, snapshot) == columns_of(Client, loaded)
        assert [columns_of(ClientGrant, grant) for grant in snapshot.grants] == \
               [columns_of(ClientGrant, grant) for grant in loaded.grants]
        assert [columns_of(Credential, credential) for credential in snapshot.credentials] == \
               [columns_of(Credential, credential) for credential in loaded.credentials]
        assert (len(snapshot.grants), len(snapshot.credentials)) == (1, 1)
    rules = [name for name, value in vars(Client).items()
             if not name.startswith("_") and (callable(value) or isinstance(value, property))]
    assert "check_grant_type" in rules
    assert [name for name in rules if not hasattr(ClientSnapshot, name)] == []


# --- the Core load (load_snapshot) gives what the ORM load gives -----------------------------

def same_slots(core, orm) -> list[str]:
    """The slots where two snapshots differ, in value or in type (1 == True and a naive datetime
    is not an aware one); an unset slot raises AttributeError."""
    differences = []
    for name in type(orm).__slots__:
        core_value, orm_value = getattr(core, name), getattr(orm, name)
        if name in ("grants", "credentials"):
            if len(core_value) != len(orm_value):
                differences.append(f"{name}: {len(core_value)} != {len(orm_value)}")
            differences += [f"{name}[{index}].{difference}" for index, (core_child, orm_child)
                            in enumerate(zip(core_value, orm_value, strict=False))
                            for difference in same_slots(core_child, orm_child)]
        elif type(core_value) is not type(orm_value) or core_value != orm_value:
            differences.append(f"{name}: {core_value!r} != {orm_value!r}")
    return differences


def core_and_orm_snapshots(client_id):
    """(the Core-built snapshot, ClientSnapshot.of the application loaded through the ORM)."""
    with client_snapshots.read_one_state(db.engine) as connection:
        core = client_snapshots.load_snapshot(connection, client_id)
    orm = ClientSnapshot.of(find_application(client_id))
    return core, orm


def test_the_core_load_gives_every_column_as_the_orm_load_does(app):
    """Two grants and two credentials of different kinds (a Private Key JWT key with an expiry, a
    self-signed certificate): every slot the same value of the same type, children in order."""
    client_id, _ = make_app(app, app_type="regular_web", callback_urls=["https://app.example/callback"])
    with app.app_context():
        client = find_application(client_id)
        grant_api(client, ISSUER + "api/v2/", ["read:clients"])
        add_public_key_credential(client, "private_key_jwt", public_pem(make_rsa_key("core-load-key")),
                                  expires_at=datetime.now(UTC) + timedelta(days=30))
        add_certificate_credential(client, self_signed_certificate("core-load").pem)
        db.session.commit()
        core, orm = core_and_orm_snapshots(client_id)
    assert same_slots(core, orm) == []
    assert (len(core.grants), len(core.credentials)) == (2, 2)
    assert {credential.credential_type for credential in core.credentials} == {"public_key", "x509_cert"}
    # The columns whose type does result processing hold values here, so a raw value would show.
    assert core.secret_rotated_at.tzinfo is not None and core.callback_urls == ["https://app.example/callback"]
    assert all(credential.expires_at.tzinfo is not None for credential in core.credentials)
    assert core.require_pkce is True and core.grants[0].scopes


def test_the_core_load_of_an_application_with_no_grants_and_no_credentials(app):
    client_id, _ = make_app(app, grant=None)
    with app.app_context():
        core, orm = core_and_orm_snapshots(client_id)
    assert same_slots(core, orm) == []
    assert (core.grants, core.credentials) == ([], [])


def test_the_core_load_of_an_unknown_client_id_is_none(app):
    with app.app_context():
        with client_snapshots.read_one_state(db.engine) as connection:
            assert client_snapshots.load_snapshot(connection, "no-such-client") is None
        assert ClientSnapshots(watch_commits=False)._load("no-such-client", None) is None


def test_the_reads_of_one_load_see_one_committed_state(app):
    """A commit between two reads of one load is not seen by the second: the version the snapshot
    holds is the version of its grants and credentials too. (Python's sqlite3 would otherwise start
    a new read at each SELECT.)"""
    client_id, _ = make_app(app)
    with app.app_context():
        with client_snapshots.read_one_state(db.engine) as connection:
            before = connection.execute(client_snapshots._VERSION, {"client_id": client_id}).scalar_one()
            rotate_secret(find_application(client_id))
            db.session.commit()  # on another connection of the engine
            again = connection.execute(client_snapshots._VERSION, {"client_id": client_id}).scalar_one()
        assert again == before < version_of(app, client_id)


# --- the preload at a cache's first use -------------------------------------------------------

def test_the_first_find_preloads_every_application_as_the_single_load_gives_it(app):
    """Three applications (one with two grants and two credentials, one with none): after one find,
    all are cached, each slot for slot what load_snapshot gives, and the next finds load nothing."""
    with app.app_context():
        rich_id, _ = make_app(app, app_type="regular_web", callback_urls=["https://app.example/callback"])
        client = find_application(rich_id)
        grant_api(client, ISSUER + "api/v2/", ["read:clients"])
        add_public_key_credential(client, "private_key_jwt", public_pem(make_rsa_key("preload-key")))
        add_certificate_credential(client, self_signed_certificate("preload").pem)
        db.session.commit()
    bare_id, _ = make_app(app, grant=None)
    plain_id, _ = make_app(app)
    snapshots = client_snapshots.ClientSnapshots(capacity=10)
    with app.app_context():
        snapshots.find(plain_id)
        assert {rich_id, bare_id, plain_id} <= set(snapshots._snapshots)
        for client_id in (rich_id, bare_id, plain_id):
            with client_snapshots.read_one_state(db.engine) as connection:
                single = client_snapshots.load_snapshot(connection, client_id)
            assert same_slots(snapshots._snapshots[client_id][0], single) == []
        seen = []
        snapshots.commit_watch.connection().set_trace_callback(seen.append)
        for client_id in (rich_id, bare_id):
            snapshots.find(client_id)
        assert [statement.split()[0] for statement in seen] == ["PRAGMA", "PRAGMA"]  # served from the preload


def test_the_preload_takes_at_most_the_capacity_and_a_later_change_is_seen(app):
    client_ids = [make_app(app)[0] for _ in range(3)]
    snapshots = client_snapshots.ClientSnapshots(capacity=2)
    with app.app_context():
        before = snapshots.find(client_ids[0])
        assert len(snapshots) == 2
    change(app, client_ids[0], _add_key)  # committed after the preload: the next find must see it
    with app.app_context():
        after = snapshots.find(client_ids[0])
    assert after is not before and after.version == before.version + 1 and len(after.credentials) == 1
