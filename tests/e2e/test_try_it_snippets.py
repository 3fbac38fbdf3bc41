"""The Credentials tab's Try-it snippets, executed as shown against a real gunicorn.

The tab is rendered by a signed-in dashboard session on the same instance (database and issuer);
each snippet is taken out of the HTML as a browser shows it and run unchanged: curl with bash, the
Python ones with this virtualenv's python, in a folder holding the key files `keys generate` wrote.
The mTLS one goes through the reference nginx edge (deploy/nginx/appcreds-edge.conf).
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from blueprints.cli.key_pairs import write_key_pair
from models import User, db
from models.applications import create_application, find_application, grant_api, set_auth_method
from models.credential_registry import add_certificate_credential, add_public_key_credential
from tests.certificates import make_ca, server_certificate, trusted_ca
from tests.conftest import DashboardActions, _make_app
from tests.dashboard.test_try_it import reveal, snippet
from tests.e2e.nginx import find_nginx, nginx_edge
from tests.servers import flask_cli, free_port, gunicorn

pytestmark = pytest.mark.e2e
ADMIN = ("try-it-admin@example.com", "try it admin password")
EDGE_SECRET = "an-edge-secret-for-try-it"


def signed_in_dashboard(instance, **config):
    """A dashboard app on `instance` with an administrator signed in; returns (app, DashboardActions)."""
    app = _make_app(instance, **config)
    with app.app_context():
        admin = User(email=ADMIN[0], is_admin=True)
        admin.set_password(ADMIN[1])
        db.session.add(admin)
        db.session.commit()
    dashboard = DashboardActions(app.test_client())
    assert dashboard.login(*ADMIN).status_code == 302
    return app, dashboard


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn and a signed-in dashboard on one instance; yields a small namespace."""
    instance = tmp_path_factory.mktemp("try-it") / "instance"
    flask_cli(instance, "setup")
    with gunicorn(instance) as base_url:
        issuer = base_url + "/"
        app, dashboard = signed_in_dashboard(instance, APPCREDS_ISSUER=issuer)
        yield type("Server", (), {"app": app, "dashboard": dashboard, "issuer": issuer})
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory):
    """gunicorn behind the nginx edge, with a dashboard that knows the edge's address (APPCREDS_MTLS_BASE_URL)."""
    if find_nginx() is None:
        pytest.skip("nginx is not installed")
    tmp = tmp_path_factory.mktemp("try-it-edge")
    instance = tmp / "instance"
    flask_cli(instance, "setup")
    (tmp / "client-ca.pem").write_text(trusted_ca().pem)
    server_ca = make_ca("Try-it Edge Server CA")
    (tmp / "server-ca.pem").write_text(server_ca.pem)
    edge_cert, edge_key = server_certificate(server_ca).write(tmp, "edge")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    env = {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_TRUSTED_PROXIES": "127.0.0.1/32",
           "APPCREDS_MTLS_CA_BUNDLE": str(tmp / "client-ca.pem"), "APPCREDS_PROXY_FIX_HOPS": "1"}
    with gunicorn(instance, port=port, env=env), \
            nginx_edge(tmp / "nginx", f"127.0.0.1:{port}", edge_cert, edge_key, tmp / "client-ca.pem",
                       EDGE_SECRET) as edge:
        app, dashboard = signed_in_dashboard(instance, APPCREDS_ISSUER=issuer, APPCREDS_EDGE_SECRET=EDGE_SECRET,
                                             APPCREDS_MTLS_BASE_URL=edge)
        yield type("Server", (), {"app": app, "dashboard": dashboard, "issuer": issuer, "edge": edge,
                                  "server_ca": tmp / "server-ca.pem"})
        with app.app_context():
            db.engine.dispose()


def make_application(server, method="client_secret_basic", **kwargs) -> str:
    with server.app.app_context():
        client, _ = create_application("try it", kwargs.pop("app_type", "non_interactive"), method, **kwargs)
        grant_api(client, server.issuer + "api/demo/", ["read:demo"])
        db.session.commit()
        return client.client_id


def run(command: list[str], folder, env=None) -> str:
    """Run a snippet; its output, after checking it succeeded."""
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=60,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def access_token_in(output: str) -> str:
    """The access_token a snippet printed (a JSON body, or a Python dict)."""
    match = re.search(r"""["']access_token["']: ["']([\w.-]+)["']""", output)
    assert match, output
    return match.group(1)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_secret_snippets_get_a_token_as_shown_after_reveal(server, tmp_path, method):
    client_id = make_application(server, method)
    page = reveal(server.dashboard, client_id).get_data(as_text=True)

    python = snippet(page, "try-it-secret-python")
    (tmp_path / "try_it.py").write_text(python)
    assert access_token_in(run([sys.executable, "try_it.py"], tmp_path)).count(".") == 2

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    body = json.loads(run(["bash", "-c", snippet(page, "try-it-secret-curl")], tmp_path))
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2


def test_private_key_jwt_snippet_gets_a_token_with_the_key_keys_generate_wrote(server, tmp_path):
    files = write_key_pair(tmp_path, "billing", alg="PS256")
    client_id = make_application(server)
    with server.app.app_context():
        client = find_application(client_id)
        add_public_key_credential(client, "private_key_jwt", files.public_key.read_text(), alg=files.alg,
                                  name="billing")
        set_auth_method(client, "private_key_jwt")
        db.session.commit()
    page = server.dashboard.client.get(f"/applications/{client_id}/credentials").get_data(as_text=True)

    (tmp_path / "try_it.py").write_text(snippet(page, "try-it-private-key-jwt-python"))
    output = run([sys.executable, "try_it.py"], tmp_path)
    assert output.startswith("200 ")
    assert access_token_in(output).count(".") == 2


def test_authorize_snippet_signs_pushes_and_builds_the_url(server, tmp_path):
    """JAR (RFC 9101) and PAR (RFC 9126): the snippet's push is accepted, and /authorize takes its request_uri."""
    files = write_key_pair(tmp_path, "signer")
    callback = "http://127.0.0.1:9/callback"
    client_id = make_application(server, app_type="regular_web", callback_urls=[callback])
    with server.app.app_context():
        add_public_key_credential(find_application(client_id), "jar", files.public_key.read_text(), name="signer")
        db.session.commit()
    page = reveal(server.dashboard, client_id).get_data(as_text=True)  # the push authenticates with the secret

    (tmp_path / "try_it.py").write_text(snippet(page, "try-it-authorize-python"))
    output = run([sys.executable, "try_it.py"], tmp_path)
    match = re.search(r"^open: (\S+)$", output, re.MULTILINE)
    assert match, output
    assert match.group(1).startswith(f"{server.issuer}authorize?client_id={client_id}&request_uri=urn")
    assert re.search(r"^code_verifier: [\w-]{43,128}$", output, re.MULTILINE)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_mtls_snippet_gets_a_token_through_the_edge_with_the_certificate_keys_generate_wrote(edge_server, tmp_path):
    """RFC 8705 §2.2: the snippet's curl presents laptop.crt to nginx; only the edge's CA is added, by environment."""
    files = write_key_pair(tmp_path, "laptop", certificate=True)
    client_id = make_application(edge_server)
    with edge_server.app.app_context():
        client = find_application(client_id)
        add_certificate_credential(client, files.certificate.read_text(), name="laptop")
        set_auth_method(client, "self_signed_tls_client_auth")
        db.session.commit()
    page = edge_server.dashboard.client.get(f"/applications/{client_id}/credentials").get_data(as_text=True)

    curl = snippet(page, "try-it-mtls-curl")
    assert curl.rstrip().endswith(f"{edge_server.edge}/oauth/token")
    body = json.loads(run(["bash", "-c", curl], tmp_path, env={"CURL_CA_BUNDLE": str(edge_server.server_ca)}))
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2
