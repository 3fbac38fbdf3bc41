"""Concurrent Management API changes of one application, on two gunicorn workers, on SQLite and PostgreSQL.

Two callers keep switching one application between two keys at the same moment. Each PATCH
is applied whole or waits for the other (models.applications.lock_application): the
application always ends in one caller's state, never a mixture (both keys, or none).
"""
import json
import threading

import pytest
import requests

from models.apis import MANAGEMENT_SCOPES
from tests.e2e.postgres import find_postgres_bin, postgres_server
from tests.factories import make_rsa_key, public_pem
from tests.servers import flask_cli, free_port, gunicorn

pytestmark = pytest.mark.e2e
ROUNDS = 12


def management_token(base_url, issuer, instance, env) -> str:
    created = json.loads(flask_cli(instance, "clients", "create", "Concurrent admin", "--app-type", "non_interactive",
                                   "--grant", issuer + "api/v2/", "--scope", " ".join(MANAGEMENT_SCOPES), "--json",
                                   env=env).stdout)
    response = requests.post(base_url + "/oauth/token", timeout=10,
                             auth=(created["client_id"], created["client_secret"]),
                             data={"grant_type": "client_credentials", "audience": issuer + "api/v2/"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def patch_at_once(url, headers, bodies) -> list:
    """Send one PATCH per body, all released at the same moment; returns the responses."""
    barrier, answers = threading.Barrier(len(bodies)), []

    def send(body):
        barrier.wait(timeout=10)
        answers.append(requests.patch(url, headers=headers, json=body, timeout=30))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def run_concurrent_switches(instance, env):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    env = {**env, "APPCREDS_ISSUER": issuer}
    flask_cli(instance, "setup", env=env)
    with gunicorn(instance, workers=2, port=port, env={**env, "APPCREDS_EVENT_FLUSH_SECONDS": "0"}) as base_url:
        headers = {"Authorization": f"Bearer {management_token(base_url, issuer, instance, env)}"}
        api = base_url + "/api/v2"
        target = requests.post(api + "/clients", json={"name": "Contended"}, headers=headers, timeout=10).json()
        keys = [requests.post(f"{api}/clients/{target['client_id']}/credentials", headers=headers, timeout=10,
                              json={"credential_type": "public_key", "pem": public_pem(make_rsa_key(f"race-{i}"))}
                              ).json()["id"] for i in range(2)]
        for round_ in range(ROUNDS):
            answers = patch_at_once(f"{api}/clients/{target['client_id']}", headers, [{
                "name": f"uses {key_id}",
                "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": key_id}]}}}
                for key_id in keys])
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            state = requests.get(f"{api}/clients/{target['client_id']}", headers=headers, timeout=10).json()
            referenced = [c["id"] for c in state["client_authentication_methods"]["private_key_jwt"]["credentials"]]
            assert len(referenced) == 1, (round_, state)
            assert state["name"] == f"uses {referenced[0]}", (round_, state)  # one caller's whole state


def test_concurrent_patches_never_mix_on_sqlite(tmp_path):
    run_concurrent_switches(tmp_path / "instance", {})


@pytest.mark.skipif(find_postgres_bin() is None, reason="PostgreSQL is not installed")
def test_concurrent_patches_never_mix_on_postgresql(tmp_path):
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    with postgres_server() as url:
        run_concurrent_switches(tmp_path / "instance", {"APPCREDS_DATABASE_URL": url})
