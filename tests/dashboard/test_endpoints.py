"""The Endpoints page: the server's own addresses and its token-signing keys, linked from the header."""
import json

import pytest


def test_the_header_links_to_the_endpoints_page(client, dashboard):
    assert 'href="/endpoints">Endpoints</a>' in client.get("/").get_data(as_text=True)


def test_shows_every_address_the_discovery_document_publishes(client, dashboard):
    html = client.get("/endpoints").get_data(as_text=True)
    metadata = client.get("/.well-known/oauth-authorization-server").json
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "pushed_authorization_request_endpoint",
                 "revocation_endpoint", "introspection_endpoint", "jwks_uri"):
        assert f">{metadata[name]}</code>" in html, name
    issuer = metadata["issuer"].rstrip("/")
    assert f">{issuer}/.well-known/oauth-authorization-server</code>" in html
    assert f">{issuer}/.well-known/openid-configuration</code>" in html
    assert "mTLS is not configured on this server" in html


def test_lists_the_signing_keys_without_their_private_half(client, dashboard, app):
    html = client.get("/endpoints").get_data(as_text=True)
    with open(f"{app.instance_path}/signing-keys.json") as handle:
        keys = json.load(handle)
    for entry in keys["keys"]:
        assert f"<code>{entry['kid']}</code>" in html
        assert f'<span class="badge">{entry["status"]}</span>' in html
    assert "RS256" in html and " UTC</td>" in html
    assert "PRIVATE KEY" not in html
    assert html.index(">current<") < html.index(">next<")


MTLS = {"APPCREDS_EDGE_SECRET": "edge", "APPCREDS_MTLS_BASE_URL": "https://mtls.auth.example/"}


@pytest.mark.parametrize("app_config", [MTLS])
def test_shows_the_mtls_aliases_when_configured(client, dashboard):
    html = client.get("/endpoints").get_data(as_text=True)
    metadata = client.get("/.well-known/oauth-authorization-server").json
    for address in metadata["mtls_endpoint_aliases"].values():
        assert f">{address}</code>" in html


def test_is_for_administrators_only(client):
    response = client.get("/endpoints")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_page_names_a_favicon_that_is_served(client, dashboard):
    html = client.get("/endpoints").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in html
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    response.close()



@pytest.mark.parametrize("app_config", [{"APPCREDS_ISSUER": "http://127.0.0.1:5000/"}])
def test_a_page_reached_at_another_address_than_the_issuer_says_so(client, dashboard):
    """make run PORT=5077 with an old issuer: every audience shown would be wrong; the dashboard says why."""
    html = client.get("/endpoints").get_data(as_text=True)  # the test client is at http://localhost/
    assert "This page was reached at <code>http://localhost/</code>, but the" in html
    assert "issuer is <code>http://127.0.0.1:5000/</code>" in html


@pytest.mark.parametrize("app_config", [{"APPCREDS_ISSUER": "http://localhost/"}])
def test_a_page_reached_at_the_issuer_says_nothing_about_it(client, dashboard):
    assert "This page was reached at" not in client.get("/endpoints").get_data(as_text=True)
