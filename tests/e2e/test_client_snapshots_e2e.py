"""Snapshot freshness on a real two-worker gunicorn, changed from the command line while it runs.

Each worker keeps snapshots of the applications it served (models/client_snapshots.py) and, on
SQLite, serves one without any query while PRAGMA data_version says nothing was committed. The
server runs with --preload: the app is built in gunicorn's master, then the workers fork. Here
the command line (another process) rotates a secret, deletes a key and deletes an application.
Every request after the change is refused, and the access log shows both workers among them: so
the very next request each worker served after the change was refused.
"""
import json
import shutil
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from models import db
from models.applications import find_application
from tests.conftest import _make_app
from tests.factories import events, make_app, make_assertion, make_jwt_app, make_rsa_key, register_key
from tests.servers import flask_cli, free_port, gunicorn

pytestmark = pytest.mark.e2e

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
BURST = 8  # requests sent at once, each on its own connection: a busy worker leaves the next to the other


@dataclass
class Server:
    url: str
    issuer: str
    app: object  # an in-process app on the same database: applications are made and events read through it
    log_path: object

    def token_lines(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines()
                if line.startswith("served-by ") and "/oauth/token" in line]

    def workers_after(self, seen: int, count: int) -> set[str]:
        """The worker pids of the `count` token requests logged after the first `seen` (waits up to 10 s)."""
        deadline = time.monotonic() + 10
        while len(lines := self.token_lines()) < seen + count and time.monotonic() < deadline:
            time.sleep(0.05)
        return {line.split()[1] for line in lines[seen:seen + count]}

    def cli(self, *args) -> str:
        return flask_cli(self.app.instance_path, *args, env={"APPCREDS_ISSUER": self.issuer}).stdout


@pytest.fixture(scope="module")
def server(template_instance, tmp_path_factory):
    instance = tmp_path_factory.mktemp("client-snapshots-e2e") / "instance"
    shutil.copytree(template_instance, instance)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    access_log = "--access-logfile - --access-logformat 'served-by %(p)s %(r)s %(s)s'"
    # Refusals are what this test sends on purpose: the failure limits would turn them into 429s.
    env = {"APPCREDS_EVENT_FLUSH_SECONDS": "0", "APPCREDS_RATELIMIT_ENABLED": "false",
           "GUNICORN_CMD_ARGS": f"--preload {access_log}"}
    app = _make_app(instance, APPCREDS_ISSUER=issuer)
    with gunicorn(instance, workers=2, port=port, env=env) as url:
        yield Server(url, issuer, app, instance / "gunicorn.log")
    with app.app_context():
        db.engine.dispose()


def burst(server, make_body, auth=None) -> list[int]:
    """BURST token requests at once, each from its own thread and connection; their statuses."""
    barrier = threading.Barrier(BURST)
    statuses = [None] * BURST

    def send(index):
        body = {"grant_type": "client_credentials", "audience": server.issuer + "api/demo/", **make_body()}
        with requests.Session() as session:
            barrier.wait(timeout=30)
            statuses[index] = session.post(server.url + "/oauth/token", data=body, auth=auth, timeout=20).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def on_both_workers(server, make_body, auth=None, expected=200) -> None:
    """Send bursts until both workers have answered; every answer must be `expected`.

    Before a change this loads the application into both workers' snapshots. Right after one,
    every answer is a refusal and both workers gave some: so each worker's first answer after
    the change was a refusal.
    """
    workers = set()
    for _ in range(10):
        seen = len(server.token_lines())
        statuses = burst(server, make_body, auth)
        assert statuses == [expected] * BURST, statuses
        workers |= server.workers_after(seen, BURST)
        if len(workers) == 2:
            return
    pytest.fail("ten bursts did not reach both workers")


def reason_codes(server, client_id, count) -> set[str]:
    return {event.reason_code for event in events(server.app, client_id)[:count]}


def test_a_rotated_secret_is_refused_at_the_next_request_on_each_worker(server):
    client_id, old_secret = make_app(server.app, grant=server.issuer + "api/demo/", name="Rotated")
    on_both_workers(server, dict, auth=(client_id, old_secret))
    new_secret = json.loads(server.cli("clients", "rotate-secret", client_id, "--json"))["client_secret"]
    on_both_workers(server, dict, auth=(client_id, old_secret), expected=401)
    assert reason_codes(server, client_id, BURST) == {"wrong_secret"}
    on_both_workers(server, dict, auth=(client_id, new_secret))


def test_a_deleted_key_is_refused_at_the_next_request_on_each_worker(server):
    client_id, deleted_key, deleted_kid = make_jwt_app(server.app, grant=server.issuer + "api/demo/", name="Keys")
    kept_key = make_rsa_key("snapshots-e2e-kept")
    kept_kid = register_key(server.app, client_id, kept_key, "RS256")["kid"]

    def signed_with(key, kid):
        return lambda: {"client_assertion_type": ASSERTION_TYPE,
                        "client_assertion": make_assertion(client_id, key, kid, aud=server.issuer)}

    on_both_workers(server, signed_with(deleted_key, deleted_kid))
    with server.app.app_context():
        credential_id = next(c.id for c in find_application(client_id).credentials if c.kid == deleted_kid)
    server.cli("credentials", "delete", client_id, credential_id)
    on_both_workers(server, signed_with(deleted_key, deleted_kid), expected=401)
    assert reason_codes(server, client_id, BURST) == {"unknown_kid"}
    on_both_workers(server, signed_with(kept_key, kept_kid))


def test_a_deleted_application_is_refused_at_the_next_request_on_each_worker(server):
    client_id, secret = make_app(server.app, grant=server.issuer + "api/demo/", name="Deleted")
    on_both_workers(server, dict, auth=(client_id, secret))
    server.cli("clients", "delete", client_id)
    on_both_workers(server, dict, auth=(client_id, secret), expected=401)
    assert reason_codes(server, client_id, BURST) == {"unknown_client"}
