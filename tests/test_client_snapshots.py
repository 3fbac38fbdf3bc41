"""Per-worker application snapshots (models/client_snapshots.py): reused while the application's
version is unchanged, reloaded at the very next request after any change, in every worker."""
import base64

import pytest

from models import Client, db
from models.applications import find_application, grant_api, revoke_api_grant, rotate_secret
from models.client_snapshots import ClientSnapshots
from models.credential_registry import add_public_key_credential, delete_credential, rename_credential
from models.state import app_state
from tests.conftest import _make_app
from tests.factories import DEMO_API, TOKEN_URL, make_app, make_rsa_key, public_pem


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
