"""AppCreds under granian (deploy/granian.sh), the keep-alive server option: what the gunicorn tests
prove holds here too: tokens from two workers, replay decided exactly once, the edge headers
through nginx, a graceful restart (SIGHUP) without a failed request, no access log."""
import json
import signal
import threading
import time

import jwt as pyjwt
import pytest
import requests

from tests.certificates import make_ca, self_signed_certificate, server_certificate, trusted_ca
from tests.e2e.nginx import find_nginx, nginx_edge
from tests.factories import make_assertion, make_rsa_key, public_pem
from tests.servers import VENV_BIN, flask_cli, free_port, granian

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not (VENV_BIN / "granian").exists(), reason="granian is not installed")]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def create(instance, issuer, *args):
    return json.loads(flask_cli(instance, "clients", "create", *args, "--app-type", "non_interactive", "--grant",
                                issuer + "api/demo/", "--scope", "read:demo", "--json",
                                env={"APPCREDS_ISSUER": issuer}).stdout)


def test_tokens_replay_and_a_graceful_restart_under_granian(tmp_path):
    instance, port = tmp_path / "instance", free_port()
    issuer = f"http://127.0.0.1:{port}/"
    flask_cli(instance, "setup")
    secret_app = create(instance, issuer, "Under granian")
    key = make_rsa_key("granian-e2e")
    (tmp_path / "public.pem").write_text(public_pem(key))
    jwt_app = create(instance, issuer, "JWT under granian")["client_id"]
    flask_cli(instance, "credentials", "add", jwt_app, "--use", "private_key_jwt", "--pem",
              str(tmp_path / "public.pem"))
    flask_cli(instance, "clients", "set-method", jwt_app, "private_key_jwt")
    form = {"grant_type": "client_credentials", "audience": issuer + "api/demo/"}

    with granian(instance, workers=2, port=port, env={"APPCREDS_EVENT_FLUSH_SECONDS": "0"}) as (base_url, process):
        session = requests.Session()  # one kept-alive connection
        auth = (secret_app["client_id"], secret_app["client_secret"])
        for _ in range(5):
            response = session.post(base_url + "/oauth/token", data=form, auth=auth, timeout=10)
            assert response.status_code == 200, response.text
        claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
        assert claims["iss"] == issuer

        # One assertion, sent by 8 threads at once to both workers: exactly one is accepted.
        assertion = make_assertion(jwt_app, key, aud=issuer)
        barrier, statuses = threading.Barrier(8), []

        def send():
            barrier.wait(timeout=10)
            statuses.append(requests.post(base_url + "/oauth/token", timeout=15, data={
                **form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}).status_code)

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(statuses) == [200] + [401] * 7

        # SIGHUP respawns the workers one by one; requests meanwhile all succeed.
        process.send_signal(signal.SIGHUP)
        deadline, answered = time.monotonic() + 6, []
        while time.monotonic() < deadline:
            answered.append(requests.post(base_url + "/oauth/token", data=form, auth=auth, timeout=10).status_code)
        assert answered and set(answered) == {200}, answered
        # The respawned workers still refuse the assertion: its record outlives the processes.
        replayed = requests.post(base_url + "/oauth/token", timeout=15, data={
            **form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})
        assert replayed.status_code == 401, replayed.text
    log = (instance / "granian.log").read_text()
    assert "HUP signal received" in log and "POST /oauth/token" not in log  # no access log by default


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")
def test_a_certificate_bound_token_through_the_edge_in_front_of_granian(tmp_path):
    instance, upstream_port = tmp_path / "instance", free_port()
    flask_cli(instance, "setup")
    (tmp_path / "client-ca.pem").write_text(trusted_ca().pem)
    server_ca = make_ca("Granian Edge CA")
    (tmp_path / "server-ca.pem").write_text(server_ca.pem)
    edge_cert, edge_key = server_certificate(server_ca).write(tmp_path, "edge")
    issuer = f"http://127.0.0.1:{upstream_port}/"
    certificate = self_signed_certificate("granian edge client")
    (tmp_path / "client.pem").write_text(certificate.pem)
    client_id = create(instance, issuer, "mTLS under granian")["client_id"]
    flask_cli(instance, "credentials", "add", client_id, "--use", "self_signed_tls_client_auth", "--pem",
              str(tmp_path / "client.pem"))
    flask_cli(instance, "clients", "set-method", client_id, "self_signed_tls_client_auth")
    env = {"APPCREDS_EDGE_SECRET": "granian-edge-secret", "APPCREDS_TRUSTED_PROXIES": "127.0.0.1/32",
           "APPCREDS_PROXY_FIX_HOPS": "1"}
    with granian(instance, workers=2, port=upstream_port, env=env), \
            nginx_edge(tmp_path / "nginx", f"127.0.0.1:{upstream_port}", edge_cert, edge_key,
                       tmp_path / "client-ca.pem", "granian-edge-secret") as edge:
        response = requests.post(edge + "/oauth/token", cert=certificate.write(tmp_path, "client"),
                                 verify=str(tmp_path / "server-ca.pem"), timeout=10,
                                 data={"grant_type": "client_credentials", "client_id": client_id,
                                       "audience": issuer + "api/demo/"})
    assert response.status_code == 200, response.text
    claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": certificate.thumbprint}
