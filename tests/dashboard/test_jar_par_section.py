"""The Credentials tab's "Authorization requests" section (blueprints/dashboard/jar_par_section.py):
JAR keys and the JAR/PAR policy."""
import pytest

from tests.dashboard.conftest import load, url
from tests.factories import last_event, make_rsa_key, private_pem, public_pem, register_key
from tests.oauth.flow import make_web_app


@pytest.fixture
def web_app(app):
    return make_web_app(app)


def add_jar_key(dashboard, client_id, pem, alg="RS256", name=""):
    return dashboard.post(url(client_id, "credentials/jar-keys"), {"pem": pem, "alg": alg, "name": name},
                          page=url(client_id, "credentials"))


def save_policy(dashboard, client_id, require_jar=False, require_par=False, expiry="60"):
    data = {"par_request_expiry": expiry}
    if require_jar:
        data["require_signed_request_object"] = "y"
    if require_par:
        data["require_pushed_authorization_requests"] = "y"
    return dashboard.post(url(client_id, "credentials/request-policy"), data, page=url(client_id, "credentials"))


def test_the_credentials_tab_has_the_authorization_requests_section(client, dashboard, web_app):
    client_id, _ = web_app
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert "Keys for signed authorization requests (JAR)" in html
    assert "No key is registered for signed authorization requests." in html
    assert "Require pushed authorization requests (PAR)" in html
    assert 'name="par_request_expiry"' in html and 'value="60"' in html


def test_an_administrator_adds_and_deletes_a_jar_key(client, app, dashboard, web_app):
    client_id, _ = web_app
    response = add_jar_key(dashboard, client_id, public_pem(make_rsa_key("jar-key-1")), alg="PS256", name="web")
    assert response.status_code == 302
    stored = load(app, client_id).credentials
    assert [(c.usage, c.alg, c.name) for c in stored] == [("jar", "PS256", "web")]
    assert last_event(app, client_id).event_type == "jar_key_added"
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert f"<code>{stored[0].kid}</code>" in html

    delete_url = url(client_id, f"credentials/{stored[0].id}/delete")
    assert "JAR key" in client.get(delete_url).get_data(as_text=True)  # the confirmation page
    response = dashboard.post(delete_url)
    assert response.status_code == 302
    assert load(app, client_id).credentials == []
    assert last_event(app, client_id).event_type == "credential_deleted"


def test_a_private_key_jwt_key_cannot_be_added_for_jar_and_the_form_says_why(client, app, dashboard, web_app):
    client_id, _ = web_app
    key = make_rsa_key("shared-key")
    register_key(app, client_id, key, "RS256", use="private_key_jwt")
    response = add_jar_key(dashboard, client_id, public_pem(key))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This key is registered for Private Key JWT (client authentication) on this application." in html
    assert "generate a separate key pair for signed authorization requests" in html
    assert [c.usage for c in load(app, client_id).credentials] == ["private_key_jwt"]


def test_a_key_of_another_application_is_refused(client, app, dashboard, web_app):
    client_id, _ = web_app
    other_id, _ = make_web_app(app, name="Other app")
    key = make_rsa_key("other-apps-key")
    register_key(app, other_id, key, "RS256", use="jar")
    response = add_jar_key(dashboard, client_id, public_pem(key))
    assert response.status_code == 400
    assert "This public key is already registered" in response.get_data(as_text=True)


def test_a_private_key_upload_is_refused(client, app, dashboard, web_app):
    client_id, _ = web_app
    response = add_jar_key(dashboard, client_id, private_pem(make_rsa_key("jar-key-1")))
    assert response.status_code == 400
    assert "This is a private key." in response.get_data(as_text=True)
    assert load(app, client_id).credentials == []


def test_at_most_two_jar_keys(client, app, dashboard, web_app):
    client_id, _ = web_app
    for name in ("jar-key-1", "jar-key-2"):
        assert add_jar_key(dashboard, client_id, public_pem(make_rsa_key(name))).status_code == 302
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert 'aria-label="Add a key for signed authorization requests"' not in html
    response = add_jar_key(dashboard, client_id, public_pem(make_rsa_key("jar-key-3")))
    assert response.status_code == 400
    assert "already has 2 credentials for jar" in response.get_data(as_text=True)


def test_requiring_signed_requests_needs_a_jar_key(client, app, dashboard, web_app):
    client_id, _ = web_app
    response = save_policy(dashboard, client_id, require_jar=True)
    assert response.status_code == 400
    assert "Register a key for signed authorization requests (JAR) before requiring them." in (
        response.get_data(as_text=True))
    assert load(app, client_id).require_signed_request_object is False
    add_jar_key(dashboard, client_id, public_pem(make_rsa_key("jar-key-1")))
    assert save_policy(dashboard, client_id, require_jar=True).status_code == 302
    assert load(app, client_id).require_signed_request_object is True


def test_the_par_policy_is_saved_and_logged(client, app, dashboard, web_app):
    client_id, _ = web_app
    assert save_policy(dashboard, client_id, require_par=True, expiry="120").status_code == 302
    stored = load(app, client_id)
    assert (stored.require_pushed_authorization_requests, stored.par_request_expiry) == (True, 120)
    event = last_event(app, client_id)
    assert event.event_type == "request_policy_changed"
    assert event.reason == "require signed requests off, require PAR on, PAR expiry 120 s"
    assert event.actor == "admin@example.com"


@pytest.mark.parametrize("expiry", ["9", "601", "soon"])
def test_the_par_expiry_must_be_10_to_600_seconds(client, app, dashboard, web_app, expiry):
    client_id, _ = web_app
    response = save_policy(dashboard, client_id, expiry=expiry)
    assert response.status_code == 400
    assert load(app, client_id).par_request_expiry == 60


def test_the_section_is_for_administrators_only(client, app, web_app):
    client_id, _ = web_app
    response = client.post(url(client_id, "credentials/request-policy"), data={"par_request_expiry": "600"})
    assert response.status_code in (302, 400)
    assert load(app, client_id).par_request_expiry == 60
