"""Auth0's own Python SDK (auth0-python) against AppCreds: gunicorn behind the nginx edge, real TLS.

The SDK is used exactly as Auth0's documentation shows it; only the domain (and the CA that
signed the edge's certificate) differ. The issuer is the edge's https URL, so the SDK's client
assertions (`aud` = https://<domain>/) and its default audience (https://<domain>/api/v2/) are
AppCreds' own.
"""
import ssl

import httpx
import pytest
import requests

from models import db
from models.apis import MANAGEMENT_SCOPES
from models.applications import create_application, grant_api
from tests.certificates import make_ca, server_certificate, trusted_ca
from tests.conftest import _make_app
from tests.e2e.nginx import find_nginx, nginx_edge
from tests.factories import make_rsa_key, private_pem, public_pem
from tests.servers import flask_cli, free_port, gunicorn

auth0_authentication = pytest.importorskip("auth0.authentication")
auth0_management = pytest.importorskip("auth0.management")

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")]
EDGE_SECRET = "an-edge-secret-for-the-sdk-test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """gunicorn (2 workers) behind nginx; the issuer is nginx's https URL. Yields a small namespace."""
    tmp = tmp_path_factory.mktemp("sdk-stack")
    instance = tmp / "instance"
    flask_cli(instance, "setup")
    (tmp / "client-ca.pem").write_text(trusted_ca().pem)
    server_ca = make_ca("SDK Edge Server CA")
    (tmp / "server-ca.pem").write_text(server_ca.pem)
    edge_cert, edge_key = server_certificate(server_ca).write(tmp, "edge")
    edge_port, upstream_port = free_port(), free_port()
    domain = f"localhost:{edge_port}"
    issuer = f"https://{domain}/"
    env = {"APPCREDS_ISSUER": issuer, "APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_PROXY_FIX_HOPS": "1",
           "APPCREDS_TRUSTED_PROXIES": "127.0.0.1/32", "APPCREDS_EVENT_FLUSH_SECONDS": "0"}
    with gunicorn(instance, workers=2, port=upstream_port, env=env):
        with nginx_edge(tmp / "nginx", f"127.0.0.1:{upstream_port}", edge_cert, edge_key, tmp / "client-ca.pem",
                        EDGE_SECRET, port=edge_port) as edge:
            app = _make_app(instance, APPCREDS_ISSUER=issuer)
            with app.app_context():
                admin, secret = create_application("SDK admin", "non_interactive", "client_secret_post")
                grant_api(admin, issuer + "api/v2/", list(MANAGEMENT_SCOPES))
                db.session.commit()
                admin_id = admin.client_id
            yield type("Stack", (), {"app": app, "edge": edge, "domain": domain, "issuer": issuer,
                                     "ca": str(tmp / "server-ca.pem"), "admin": (admin_id, secret)})
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def trust_edge(stack, monkeypatch):
    """The SDK's two HTTP stacks trust the edge's CA: requests (authentication), httpx (management)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.ca)
    monkeypatch.setenv("SSL_CERT_FILE", stack.ca)


@pytest.fixture
def management(stack, trust_edge):
    """auth0-python's ManagementClient with a token its GetToken fetched with the admin's client secret."""
    client_id, secret = stack.admin
    token = auth0_authentication.GetToken(stack.domain, client_id, client_secret=secret).client_credentials(
        audience=stack.issuer + "api/v2/")
    assert token["token_type"] == "Bearer" and "create:client_credentials" in token["scope"]
    with httpx.Client(verify=ssl.create_default_context(cafile=stack.ca), timeout=10) as http:
        yield auth0_management.Auth0(base_url=f"https://{stack.domain}/api/v2", token=token["access_token"],
                                     httpx_client=http, max_retries=0)


def demo_token(stack, client_id, **credentials):
    return auth0_authentication.GetToken(stack.domain, client_id, **credentials).client_credentials(
        audience=stack.issuer + "api/demo/")


def test_the_sdk_manages_an_application_from_creation_to_private_key_jwt(stack, management):
    key = make_rsa_key("sdk-e2e")
    # 1. create an application
    created = management.clients.create(name="SDK-made job", app_type="non_interactive",
                                        token_endpoint_auth_method="client_secret_post")
    assert created.client_id and created.client_secret and created.grant_types == ["client_credentials"]
    assert management.clients.get(created.client_id).name == "SDK-made job"
    # 2. add a public_key credential: registered, used by no method yet
    credential = management.clients.credentials.create(created.client_id, credential_type="public_key",
                                                       name="sdk key", pem=public_pem(key), alg="RS256")
    assert credential.id.startswith("cred_") and credential.kid
    assert [c.id for c in management.clients.credentials.list(created.client_id)] == [credential.id]
    # 3. grant an API
    grant = management.client_grants.create(audience=stack.issuer + "api/demo/", client_id=created.client_id,
                                            scope=["read:demo"])
    assert grant.id and grant.scope == ["read:demo"]
    assert [g.id for g in management.client_grants.list(client_id=created.client_id)] == [grant.id]
    # The secret works until the switch ...
    assert demo_token(stack, created.client_id, client_secret=created.client_secret)["access_token"]
    # 4. switch it to Private Key JWT, naming the credential
    updated = management.clients.update(created.client_id, client_authentication_methods={
        "private_key_jwt": {"credentials": [{"id": credential.id}]}})
    assert updated.client_authentication_methods.private_key_jwt.credentials[0].id == credential.id
    # ... then only the SDK's own client assertion does.
    token = demo_token(stack, created.client_id, client_assertion_signing_key=private_pem(key),
                       client_assertion_signing_alg="RS256")
    assert token["scope"] == "read:demo"
    with pytest.raises(auth0_authentication.exceptions.Auth0Error) as refused:
        demo_token(stack, created.client_id, client_secret=created.client_secret)
    assert refused.value.status_code == 401 and refused.value.error_code == "invalid_client"
    # 5. read the logs: the exchange and every change, newest first
    types = [entry.type for entry in management.logs.list(search=f"client_id:{created.client_id}", per_page=20)]
    assert types[0] == "feccft" and "seccft" in types and "sapi" in types


def test_the_sdk_rotates_a_secret_and_the_old_one_stops_at_once(stack, management):
    other = management.clients.create(name="SDK rotated", token_endpoint_auth_method="client_secret_post",
                                      app_type="non_interactive")
    management.client_grants.create(audience=stack.issuer + "api/demo/", client_id=other.client_id,
                                    scope=["read:demo"])
    rotated = management.clients.rotate_secret(other.client_id)
    assert rotated.client_secret != other.client_secret
    assert demo_token(stack, other.client_id, client_secret=rotated.client_secret)["access_token"]
    with pytest.raises(auth0_authentication.exceptions.Auth0Error):
        demo_token(stack, other.client_id, client_secret=other.client_secret)


def test_the_sdk_reads_auth0_shaped_errors(stack, management):
    with pytest.raises(auth0_management.errors.NotFoundError) as missing:
        management.clients.get("no-such-client")
    assert missing.value.body["statusCode"] == 404
    with pytest.raises(auth0_management.errors.BadRequestError) as bad:
        management.clients.create(name="Public M2M", app_type="non_interactive", token_endpoint_auth_method="none")
    assert "machine-to-machine" in bad.value.body["message"]


def test_management_client_fetches_its_own_token_with_the_sdk_token_provider(stack, trust_edge):
    client_id, secret = stack.admin
    with httpx.Client(timeout=10) as http:  # trusts the edge through SSL_CERT_FILE, as the token provider does
        management = auth0_management.ManagementClient(domain=stack.domain, client_id=client_id,
                                                       client_secret=secret, httpx_client=http)
        names = [client.name for client in management.clients.list(per_page=50)]
    assert "SDK admin" in names


def test_without_a_token_the_edge_answers_401_in_auth0_shape(stack):
    response = requests.get(stack.edge + "/api/v2/clients", verify=stack.ca, timeout=10)
    assert response.status_code == 401 and response.json()["errorCode"] == "missing_authentication"
