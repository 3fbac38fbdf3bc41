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
                        EDGE_SECRET) as edge:
            app = _make_app(instance, APPCREDS_ISSUER=issuer, APPCREDS_EDGE_SECRET=EDGE_SECRET)
            yield type("Stack", (), {"app": app, "edge": edge, "upstream": upstream, "tmp": tmp,
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
    switched = dashboard.post(f"{tab}/method", {"token_endpoint_auth_method": "self_signed_tls_client_auth"},
                              page=tab)
    assert switched.status_code == 302

    response = token_over_edge(stack, client_id, certificate, "dashboard")
    assert response.status_code == 200, response.text
    claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": certificate.thumbprint}
    assert last_event(stack.app, client_id).method == "self_signed_tls_client_auth"
