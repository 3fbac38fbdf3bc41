"""mTLS through the real edge: nginx (deploy/nginx/appcreds-edge.conf) terminates TLS in front
of a real gunicorn, and clients present certificates in real TLS handshakes."""
import io

import jwt as pyjwt
import pytest
import requests

from models import User, db
from models.applications import create_application, find_application, grant_api, set_auth_method
from models.credential_registry import add_certificate_credential, add_subject_dn_credential
from tests.certificates import (
    foreign_ca,
    issue_client_certificate,
    make_ca,
    name,
    self_signed_certificate,
    server_certificate,
    trusted_ca,
)
from tests.conftest import DashboardActions, _make_app
from tests.e2e.nginx import find_nginx, nginx_edge
from tests.factories import last_event
from tests.servers import flask_cli, free_port, gunicorn

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")]
EDGE_SECRET = "an-edge-secret-shared-with-nginx"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """gunicorn behind nginx, sharing one instance folder; yields a small namespace."""
    tmp = tmp_path_factory.mktemp("mtls-stack")
    instance = tmp / "instance"
    flask_cli(instance, "setup")
    (tmp / "client-ca.pem").write_text(trusted_ca().pem)
    server_ca = make_ca("Edge Server CA")
    (tmp / "server-ca.pem").write_text(server_ca.pem)
    edge_cert, edge_key = server_certificate(server_ca).write(tmp, "edge")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"  # what the edge's clients and gunicorn agree on as issuer
    env = {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_TRUSTED_PROXIES": "127.0.0.1/32",
           "APPCREDS_MTLS_CA_BUNDLE": str(tmp / "client-ca.pem"), "APPCREDS_PROXY_FIX_HOPS": "1",
           "APPCREDS_EVENT_FLUSH_SECONDS": "0"}
    with gunicorn(instance, port=port, env=env) as upstream:
        with nginx_edge(tmp / "nginx", f"127.0.0.1:{port}", edge_cert, edge_key, tmp / "client-ca.pem",
                        EDGE_SECRET) as edge, \
                nginx_edge(tmp / "nginx-large", f"127.0.0.1:{port}", edge_cert, edge_key, tmp / "client-ca.pem",
                           EDGE_SECRET, client_max_body_size="8m") as permissive_edge:
            app = _make_app(instance, APPCREDS_ISSUER=issuer, APPCREDS_EDGE_SECRET=EDGE_SECRET)
            yield type("Stack", (), {"app": app, "edge": edge, "upstream": upstream, "tmp": tmp,
                                     "permissive_edge": permissive_edge,
                                     "issuer": issuer, "server_ca": str(tmp / "server-ca.pem")})
            with app.app_context():
                db.engine.dispose()


def make_application(stack):
    with stack.app.app_context():
        client, _ = create_application("edge test", "non_interactive", "client_secret_basic")
        grant_api(client, stack.issuer + "api/demo/", ["read:demo"])
        db.session.commit()
        return client.client_id


def make_mtls_application(stack, use, certificate=None, subject_dn=None):
    """An application using `use`, its certificate or DN registered through the credential registry."""
    client_id = make_application(stack)
    with stack.app.app_context():
        client = find_application(client_id)
        if use == "self_signed_tls_client_auth":
            add_certificate_credential(client, certificate.pem)
        else:
            add_subject_dn_credential(client, subject_dn=subject_dn)
        set_auth_method(client, use)
        db.session.commit()
    return client_id


def token_over_edge(stack, client_id, certificate=None, name_="client", headers=None):
    cert = certificate.write(stack.tmp, f"{name_}-{client_id[:6]}") if certificate else None
    return requests.post(stack.edge + "/oauth/token", cert=cert, verify=stack.server_ca, timeout=10,
                         headers=headers or {},
                         data={"grant_type": "client_credentials", "client_id": client_id,
                               "audience": stack.issuer + "api/demo/"})


def test_self_signed_certificate_gets_a_bound_token_usable_only_with_it(stack):
    certificate = self_signed_certificate("edge self-signed")
    client_id = make_mtls_application(stack, "self_signed_tls_client_auth", certificate)
    response = token_over_edge(stack, client_id, certificate)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": certificate.thumbprint}

    paths = certificate.write(stack.tmp, "whoami")
    bearer = {"Authorization": f"Bearer {token}"}
    with_cert = requests.get(stack.edge + "/api/demo/whoami", headers=bearer, cert=paths, verify=stack.server_ca,
                             timeout=10)
    assert with_cert.status_code == 200, with_cert.text
    without = requests.get(stack.edge + "/api/demo/whoami", headers=bearer, verify=stack.server_ca, timeout=10)
    assert without.status_code == 401 and 'error="invalid_token"' in without.headers["WWW-Authenticate"]
    other = self_signed_certificate("someone else").write(stack.tmp, "other")
    with_other = requests.get(stack.edge + "/api/demo/whoami", headers=bearer, cert=other, verify=stack.server_ca,
                              timeout=10)
    assert with_other.status_code == 401


def test_ca_issued_certificate_with_registered_dn(stack):
    certificate = issue_client_certificate(trusted_ca(), name("edge-service"))
    client_id = make_mtls_application(stack, "tls_client_auth", subject_dn="CN=edge-service,O=AppCreds Tests,C=US")
    response = token_over_edge(stack, client_id, certificate)
    assert response.status_code == 200, response.text
    assert last_event(stack.app, client_id).method == "tls_client_auth"


def test_certificate_from_an_unknown_ca_is_refused(stack):
    client_id = make_mtls_application(stack, "tls_client_auth", subject_dn="CN=edge-two,O=AppCreds Tests,C=US")
    impostor = issue_client_certificate(foreign_ca(), name("edge-two"))
    response = token_over_edge(stack, client_id, impostor)
    assert response.status_code == 401
    assert last_event(stack.app, client_id).reason_code == "certificate_not_ca_verified"


def test_no_certificate_is_refused(stack):
    client_id = make_mtls_application(stack, "tls_client_auth", subject_dn="CN=edge-three,O=AppCreds Tests,C=US")
    response = token_over_edge(stack, client_id)
    assert response.status_code == 401


def test_forged_headers_through_the_edge_are_replaced(stack):
    """nginx overwrites client-sent copies of the edge headers, so a forged certificate goes nowhere."""
    certificate = self_signed_certificate("forged through edge")
    client_id = make_mtls_application(stack, "self_signed_tls_client_auth", certificate)
    forged = {"client-certificate": certificate.header_value, "client-certificate-ca-verified": "SUCCESS",
              "cname-api-key": "guess"}
    response = token_over_edge(stack, client_id, headers=forged)
    assert response.status_code == 401


def test_forged_headers_straight_to_gunicorn_never_authenticate(stack):
    certificate = self_signed_certificate("forged direct")
    client_id = make_mtls_application(stack, "self_signed_tls_client_auth", certificate)
    forged = {"client-certificate": certificate.header_value, "client-certificate-ca-verified": "SUCCESS",
              "cname-api-key": "not-the-secret"}
    response = requests.post(stack.upstream + "/oauth/token", headers=forged, timeout=10,
                             data={"grant_type": "client_credentials", "client_id": client_id,
                                   "audience": stack.issuer + "api/demo/"})
    assert response.status_code == 401
    assert last_event(stack.app, client_id).reason_code == "untrusted_certificate_source"
    # Even with the right secret, gunicorn's direct peer is 127.0.0.1 like nginx: the secret is what
    # protects this deployment, so it must never leave the edge's configuration.


def test_rotation_with_two_certificates_through_the_edge(stack):
    first, second = self_signed_certificate("rot-1"), self_signed_certificate("rot-2")
    client_id = make_mtls_application(stack, "self_signed_tls_client_auth", first)
    with stack.app.app_context():
        add_certificate_credential(find_application(client_id), second.pem)
        db.session.commit()
    assert token_over_edge(stack, client_id, first, "first").status_code == 200
    assert token_over_edge(stack, client_id, second, "second").status_code == 200


def test_a_certificate_registered_in_the_dashboard_gets_a_token_through_the_edge(stack):
    """The README's way: upload the certificate on the Credentials tab, switch the method, curl --cert."""
    with stack.app.app_context():
        admin = User(email="edge-admin@example.com", is_admin=True)
        admin.set_password("edge admin password")
        db.session.add(admin)
        db.session.commit()
    dashboard = DashboardActions(stack.app.test_client())
    assert dashboard.login("edge-admin@example.com", "edge admin password").status_code == 302
    client_id = make_application(stack)
    tab = f"/applications/{client_id}/credentials"
    certificate = self_signed_certificate("registered in the dashboard")
    upload = {"certificate_file": (io.BytesIO(certificate.pem.encode()), "client.pem"),
              "certificate_name": "dashboard upload"}
    added = dashboard.post(f"{tab}/certificates", upload, page=tab)
    assert added.status_code == 302, added.get_data(as_text=True)
    # Leaving the secret deletes it, so the dashboard asks first; the confirmed switch goes through.
    asked = dashboard.post(f"{tab}/method", {"token_endpoint_auth_method": "self_signed_tls_client_auth"},
                           page=tab)
    assert asked.status_code == 200 and "confirmed" in asked.get_data(as_text=True)
    switched = dashboard.post(f"{tab}/method", {"token_endpoint_auth_method": "self_signed_tls_client_auth",
                                                "confirmed": "yes"}, page=tab)
    assert switched.status_code == 302, switched.get_data(as_text=True)

    response = token_over_edge(stack, client_id, certificate, "dashboard")
    assert response.status_code == 200, response.text
    claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": certificate.thumbprint}
    assert last_event(stack.app, client_id).method == "self_signed_tls_client_auth"


TOO_LARGE = {"error": "invalid_request", "error_description": "the request body is too large"}


@pytest.mark.parametrize("size", [70 * 1024, 2 * 1024 * 1024])
def test_an_oversized_body_is_a_413_with_the_json_error_through_the_edge_and_directly(stack, size):
    """Issue 10: AppCreds refused the body before reading it, gunicorn closed the socket, and nginx
    answered 502. Through nginx (whose limit matches APPCREDS_MAX_BODY_BYTES) and straight to
    gunicorn, the client gets 413 with the RFC 6749 §5.2 JSON error."""
    client_id = make_application(stack)
    data = {"grant_type": "client_credentials", "client_id": client_id, "pad": "x" * size}
    through_edge = requests.post(stack.edge + "/oauth/token", data=data, verify=stack.server_ca, timeout=30)
    assert (through_edge.status_code, through_edge.json()) == (413, TOO_LARGE), through_edge.text[:300]
    assert through_edge.headers["Content-Type"] == "application/json"
    assert through_edge.headers["Cache-Control"] == "no-store"
    direct = requests.post(stack.upstream + "/oauth/token", data=data, timeout=30)
    assert (direct.status_code, direct.json()) == (413, TOO_LARGE), direct.text[:300]
    # An edge whose limit is above AppCreds' forwards the body; AppCreds reads and discards it to answer.
    permissive = requests.post(stack.permissive_edge + "/oauth/token", data=data, verify=stack.server_ca, timeout=30)
    assert (permissive.status_code, permissive.json()) == (413, TOO_LARGE), permissive.text[:300]
    # The Management API's own shape (Auth0's), through the edge even before the bearer token is checked.
    management = requests.post(stack.edge + "/api/v2/clients", json={"name": "x" * size}, verify=stack.server_ca,
                               timeout=30)
    assert management.status_code == 413 and management.json() == {
        "statusCode": 413, "error": "Request Entity Too Large", "errorCode": "payload_too_large",
        "message": "Payload too large: the request body exceeds the size limit"}


def test_a_client_still_sending_an_oversized_body_can_send_it_all_and_read_the_413(stack):
    """Issue 10: gunicorn used to close the socket after the 413 while the body was still coming,
    so the client's next write broke ("Broken pipe"), which nginx reports as 502. AppCreds now reads
    and discards the body (up to APPCREDS_DISCARD_BODY_BYTES) before it answers."""
    import json
    import socket
    import time

    host, port = stack.upstream.removeprefix("http://").split(":")
    body = b"grant_type=client_credentials&pad=" + b"x" * (2 * 1024 * 1024)
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                           b"Content-Type: application/x-www-form-urlencoded\r\n"
                           + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:100_000])
        time.sleep(3)  # longer than gunicorn lingers after closing (util.close_graceful: 2 s)
        connection.sendall(body[100_000:])
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(payload) == TOO_LARGE
