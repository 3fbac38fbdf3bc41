"""ProtocolRequest (blueprints/oauth/server.py) does OAuth2Request.__init__'s work itself, per token
request; these tests hold it to what Authlib's own constructor would have done."""
import pytest
from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError

from blueprints.oauth import server
from blueprints.oauth.server import MAX_REMEMBERED_ORIGINS, ProtocolRequest, is_secure_origin

ORIGINS = [
    ("https", "issuer.example.com"), ("https", "issuer.example.com:8443"), ("https", "203.0.113.5"),
    ("http", "127.0.0.1:5000"), ("http", "127.0.0.2"), ("http", "localhost:5000"), ("http", "[::1]:5000"),
    ("http", "[::ffff:127.0.0.1]:80"), ("http", "issuer.example.com"), ("http", "10.0.0.1:5000"),
    ("http", "[2001:db8::1]"), ("http", "localhost.example.com"), ("ftp", "127.0.0.1"),
]


@pytest.fixture(autouse=True)
def no_remembered_origins(monkeypatch):
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    monkeypatch.setattr(server, "_transport_is_secure", {})


@pytest.mark.parametrize(("scheme", "host"), ORIGINS)
def test_an_origin_is_secure_exactly_when_authlib_says_so_first_time_and_after(scheme, host):
    expected = is_secure_transport(f"{scheme}://{host}/oauth/token")
    assert is_secure_origin(scheme, host) is expected
    assert is_secure_origin(scheme, host) is expected  # the remembered answer


def test_authlibs_insecure_transport_switch_is_read_on_every_request(monkeypatch):
    assert is_secure_origin("http", "issuer.example.com") is False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    assert is_secure_origin("http", "issuer.example.com") is True
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT")
    assert is_secure_origin("http", "issuer.example.com") is False


def test_hosts_chosen_by_clients_fill_the_memory_only_up_to_its_bound():
    for number in range(3 * MAX_REMEMBERED_ORIGINS):
        assert is_secure_origin("http", f"host-{number}.example.com") is False
        assert is_secure_origin("https", f"host-{number}.example.com") is True
    assert len(server._transport_is_secure) == MAX_REMEMBERED_ORIGINS
    assert is_secure_origin("http", "127.0.0.1") is True  # decided, though no longer remembered


def test_protocol_request_sets_every_attribute_oauth2_request_sets(app):
    """An Authlib upgrade that gives OAuth2Request another attribute fails here, not in production."""
    body = "grant_type=client_credentials&scope=read%3Ademo"
    with app.test_request_context("/oauth/token?x=1", method="POST", base_url="https://issuer.example.com",
                                  data=body, content_type="application/x-www-form-urlencoded",
                                  headers={"Authorization": "Basic abc"}):
        from flask import request
        ours = ProtocolRequest(request)
        theirs = OAuth2Request(request.method, request.url, headers=request.headers)
    assert set(vars(theirs)) <= set(vars(ours))
    for name, value in vars(theirs).items():
        if name not in ("uri", "headers", "payload"):
            assert getattr(ours, name) == value, name
    assert ours.uri == "https://issuer.example.com/oauth/token"
    assert ours.headers["Authorization"] == "Basic abc"
    assert ours.form.get("scope") == "read:demo"
    assert ours.payload.data.get("grant_type") == "client_credentials"


def test_protocol_request_refuses_plain_http_to_a_host_that_is_not_loopback(app):
    with app.test_request_context("/oauth/token", method="POST", base_url="http://issuer.example.com"):
        from flask import request
        with pytest.raises(InsecureTransportError):
            ProtocolRequest(request)
