"""X-Forwarded-* only from APPCREDS_TRUSTED_PROXIES (blueprints/oauth/edge.py TrustedProxyFix):
a client that connects directly cannot spoof the logged address or the scheme."""
import pytest
from flask import request

from tests.factories import DEMO_API, TOKEN_URL, last_event, make_app

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.fixture
def app_config():
    return {"APPCREDS_PROXY_FIX_HOPS": 1, "APPCREDS_TRUSTED_PROXIES": "10.9.8.0/24"}


def failed_token_request(client, client_id, peer):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, auth=(client_id, "wrong"),
                       headers=FORWARDED, environ_base={"REMOTE_ADDR": peer})


def test_a_direct_client_cannot_spoof_its_address(client, app):
    client_id, _ = make_app(app)
    failed_token_request(client, client_id, peer="198.51.100.1")
    assert last_event(app, client_id).source_ip == "198.51.100.1"


def test_the_trusted_proxy_names_the_client(client, app):
    client_id, _ = make_app(app)
    failed_token_request(client, client_id, peer="10.9.8.1")
    assert last_event(app, client_id).source_ip == "203.0.113.7"


def test_a_direct_client_cannot_claim_https(client, app):
    """The scheme decides whether /authorize is allowed over http (InsecureTransportError)."""
    schemes = []
    app.before_request(lambda: schemes.append(request.scheme))
    client.get("/login", headers=FORWARDED, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    client.get("/login", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.9.8.1"})
    assert schemes == ["http", "https"]


def test_without_trusted_proxies_nobody_is_believed(instance_path):
    from tests.conftest import _make_app

    app = _make_app(instance_path, APPCREDS_PROXY_FIX_HOPS=1)
    client_id, _ = make_app(app)
    failed_token_request(app.test_client(), client_id, peer="10.9.8.1")
    assert last_event(app, client_id).source_ip == "10.9.8.1"


@pytest.mark.parametrize("peer, status", [("198.51.100.1", 400), ("10.9.8.1", 200)])
def test_the_token_endpoint_requires_https_except_on_loopback(client, app, peer, status):
    """Authlib's transport rule (https, or a loopback host) at the token endpoint, as a JSON error;
    the scheme comes from the trusted proxy only."""
    client_id, secret = make_app(app)
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                           auth=(client_id, secret), base_url="http://auth.example.com",
                           headers=FORWARDED, environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == status, response.json
    if status == 400:
        assert response.json == {"error": "invalid_request", "error_description": "the token endpoint requires https"}
