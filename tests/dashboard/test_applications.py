"""Applications: list, create, edit, delete (with confirmation), and API grants."""
import re

import pytest

from models import Client, db
from models.client_secrets import reveal_client_secret
from tests.dashboard.conftest import basic, load, token_with_basic, url
from tests.factories import DEMO_API, TOKEN_URL, events, make_app

GOOD = {
    "name": "Orders service",
    "description": "Reads orders at night.",
    "app_type": "non_interactive",
    "callback_urls": "",
    "grant_types": ["client_credentials"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def count_applications(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Client))


def only_application(app):
    with app.app_context():
        client = db.session.execute(db.select(Client)).scalar_one()
        db.session.expunge(client)
        return client


def test_list_shows_each_application_and_a_create_button(client, dashboard, app):
    client_id, _ = make_app(app, name="Reporting job")
    make_app(app, name="Shop front", app_type="spa", method="none", grant=None)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/applications/new"' in html and "Create application" in html
    assert "Reporting job" in html and "Shop front" in html
    assert client_id in html
    assert "Machine to machine" in html and "Single-page application" in html
    assert "client_secret_basic" in html and ">none<" in html
    assert f'href="/applications/{client_id}/settings"' in html


def test_list_says_when_there_are_no_applications(client, dashboard):
    assert "No applications yet" in client.get("/").get_data(as_text=True)


def test_create_form_offers_every_type_grant_and_starting_method(client, dashboard):
    html = client.get("/applications/new").get_data(as_text=True)
    for value in ("regular_web", "spa", "native", "non_interactive", "client_credentials", "authorization_code",
                  "refresh_token", "client_secret_basic", "client_secret_post", "none"):
        assert f'value="{value}"' in html
    assert "private_key_jwt" not in html  # a key must be registered before an application can use it
    assert '<label for="name">Name</label>' in html


def test_creates_an_application_and_opens_its_credentials(client, dashboard, app):
    response = dashboard.post("/applications/new", GOOD)
    assert response.status_code == 302
    created = only_application(app)
    assert response.headers["Location"] == url(created.client_id, "credentials")
    assert (created.name, created.description, created.app_type, created.token_endpoint_auth_method) == (
        "Orders service", "Reads orders at night.", "non_interactive", "client_secret_basic")
    assert created.grant_types == ["client_credentials"] and created.callback_urls == []
    assert created.has_secret
    page = client.get(response.headers["Location"])
    assert "Application “Orders service” created." in page.get_data(as_text=True)


def test_creates_a_web_application_with_callbacks(client, dashboard, app):
    data = {**GOOD, "app_type": "regular_web", "grant_types": ["authorization_code", "refresh_token"],
            "callback_urls": "https://shop.example/callback\r\n\r\n  http://127.0.0.1:8080/cb  \r\n"}
    assert dashboard.post("/applications/new", data).status_code == 302
    created = only_application(app)
    assert created.callback_urls == ["https://shop.example/callback", "http://127.0.0.1:8080/cb"]
    assert created.grant_types == ["authorization_code", "refresh_token"]


def test_creates_a_public_single_page_application_without_secret(client, dashboard, app):
    data = {**GOOD, "app_type": "spa", "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"], "callback_urls": "https://spa.example/cb"}
    assert dashboard.post("/applications/new", data).status_code == 302
    created = only_application(app)
    assert created.token_endpoint_auth_method == "none" and not created.has_secret


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "Enter a name."),
    ("name", "   ", "Enter a name."),
    ("name", "x" * 129, "Field cannot be longer than 128 characters."),
    ("app_type", "mainframe", "Choose one of the application types listed."),
    ("callback_urls", "javascript:alert(1)", "Callback URL &#39;javascript:alert(1)&#39; is not an absolute URL."),
    ("callback_urls", "http://example.com/cb", "must use https (http only for localhost)"),
    ("callback_urls", "https://example.com/cb#top", "must not contain a fragment"),
    ("callback_urls", "/relative/cb", "is not an absolute URL"),
    ("grant_types", "implicit", "Unsupported grant type &#39;implicit&#39;."),
    ("token_endpoint_auth_method", "private_key_jwt", "other methods need a credential registered first"),
    ("token_endpoint_auth_method", "none", "A machine-to-machine application must authenticate"),
    ("description", "d" * 2001, "Field cannot be longer than 2000 characters."),
])
def test_create_refuses_bad_input_on_its_field_and_stores_nothing(client, dashboard, app, field, value, message):
    response = dashboard.post("/applications/new", {**GOOD, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    # The error sits in the field's own block, marked invalid for assistive technology.
    assert 'class="field has-error"' in html or 'class="field choices has-error"' in html
    assert count_applications(app) == 0


def test_create_keeps_what_was_typed_after_an_error(client, dashboard):
    html = dashboard.post("/applications/new", {**GOOD, "callback_urls": "http://example.com/cb"}).get_data(
        as_text=True)
    assert 'value="Orders service"' in html
    assert "http://example.com/cb</textarea>" in html


def test_create_page_never_shows_the_new_secret(client, dashboard, app):
    response = dashboard.post("/applications/new", GOOD)
    created = only_application(app)
    with app.app_context():
        secret = reveal_client_secret(db.session.get(Client, created.id))
    assert secret not in client.get(response.headers["Location"]).get_data(as_text=True)


def test_edits_settings(client, dashboard, app):
    client_id, _ = make_app(app, name="Old name")
    page = client.get(url(client_id, "settings")).get_data(as_text=True)
    assert 'value="Old name"' in page and 'aria-current="page">Settings' in page
    response = dashboard.post(url(client_id, "settings"), {
        "name": "New name", "description": "Now with callbacks", "app_type": "regular_web",
        "callback_urls": "https://app.example/cb\nhttps://app.example/cb2",
        "grant_types": ["client_credentials", "authorization_code"]})
    assert response.status_code == 302
    edited = load(app, client_id)
    assert (edited.name, edited.description, edited.app_type) == ("New name", "Now with callbacks", "regular_web")
    assert edited.callback_urls == ["https://app.example/cb", "https://app.example/cb2"]
    assert edited.grant_types == ["client_credentials", "authorization_code"]
    assert "Settings saved." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_settings_tab_turns_required_pkce_off_and_logs_it(client, dashboard, app):
    """RFC 9700 §2.1.1: PKCE is required by default; the Settings tab says why before opting out."""
    client_id, _ = make_app(app, name="Web", app_type="regular_web", callback_urls=["https://app.example/cb"],
                            grant_types=["authorization_code"])
    page = client.get(url(client_id, "settings")).get_data(as_text=True)
    assert re.search(r'<input [^>]*checked id="require_pkce" name="require_pkce" type="checkbox"', page)
    assert "inject it into your application" in page and "RFC 9700 §2.1.1" in page
    form = {"name": "Web", "app_type": "regular_web", "callback_urls": "https://app.example/cb",
            "grant_types": ["authorization_code"]}
    assert dashboard.post(url(client_id, "settings"), form).status_code == 302
    assert load(app, client_id).require_pkce is False
    assert events(app, client_id)[0].reason == "require PKCE changed from on to off"
    assert dashboard.post(url(client_id, "settings"), {**form, "require_pkce": "y"}).status_code == 302
    assert load(app, client_id).require_pkce is True


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("app_type", "bogus"), ("callback_urls", "javascript:alert(1)"),
    ("callback_urls", "http://example.com/cb"), ("callback_urls", "https://a.example/cb#x"),
    ("grant_types", "password"),
])
def test_edit_refuses_bad_input_and_changes_nothing(client, dashboard, app, field, value):
    client_id, _ = make_app(app, name="Keep me", callback_urls=["https://keep.example/cb"])
    data = {"name": "Changed", "app_type": "regular_web", "callback_urls": "https://changed.example/cb",
            "grant_types": ["client_credentials"], field: value}
    response = dashboard.post(url(client_id, "settings"), data)
    assert response.status_code == 400
    assert "has-error" in response.get_data(as_text=True)
    unchanged = load(app, client_id)
    assert (unchanged.name, unchanged.app_type, unchanged.callback_urls) == (
        "Keep me", "non_interactive", ["https://keep.example/cb"])


def test_edit_refuses_machine_to_machine_for_a_public_application(client, dashboard, app):
    client_id, _ = make_app(app, app_type="spa", method="none", grant=None)
    response = dashboard.post(url(client_id, "settings"), {"name": "SPA", "app_type": "non_interactive"})
    assert response.status_code == 400
    assert "must authenticate" in response.get_data(as_text=True)
    assert load(app, client_id).app_type == "spa"


def test_delete_asks_for_confirmation_first(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    settings = client.get(url(client_id, "settings")).get_data(as_text=True)
    assert f'href="/applications/{client_id}/delete"' in settings
    page = client.get(url(client_id, "delete"))
    assert page.status_code == 200
    assert "Type the application&#39;s name to confirm" in page.get_data(as_text=True)
    assert load(app, client_id) is not None


@pytest.mark.parametrize("typed", ["", "billing backend", "Something else"])
def test_delete_refuses_a_wrong_name(client, dashboard, app, confidential_app, typed):
    client_id, _ = confidential_app
    response = dashboard.post(url(client_id, "delete"), {"confirm_name": typed})
    assert response.status_code == 400
    assert load(app, client_id) is not None


def test_deletes_with_the_right_name_and_keeps_the_log(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    assert token_with_basic(client, client_id, secret).status_code == 200
    response = dashboard.post(url(client_id, "delete"), {"confirm_name": "Billing backend"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert load(app, client_id) is None
    assert "Application “Billing backend” deleted." in client.get("/").get_data(as_text=True)
    assert "Billing backend" not in client.get("/").get_data(as_text=True)  # once the flash is gone: not listed
    refused = token_with_basic(client, client_id, secret)
    assert (refused.status_code, refused.json["error"]) == (401, "invalid_client")
    rows = events(app, client_id)
    assert [row.reason_code for row in rows[:3]] == ["unknown_client", "application_deleted", "authenticated"]
    assert rows[1].actor == "admin@example.com"
    assert all(row.client_pk is None for row in rows)
    assert client.get(url(client_id, "settings")).status_code == 404


def test_grants_and_revokes_apis(client, dashboard, app):
    client_id, secret = make_app(app, grant=None)
    page = client.get(url(client_id, "apis")).get_data(as_text=True)
    assert DEMO_API in page and "read:demo" in page and "read:clients" in page
    request = {"grant_type": "client_credentials", "audience": DEMO_API}
    assert client.post(TOKEN_URL, data=request, headers=basic(client_id, secret)).json["error"] == "access_denied"

    response = dashboard.post(url(client_id, "apis"), {"api_0": "y", "scopes_0": ["read:demo", "write:demo"]})
    assert response.status_code == 302
    token = client.post(TOKEN_URL, data=request, headers=basic(client_id, secret))
    assert token.status_code == 200 and token.json["scope"] == "read:demo write:demo"
    assert events(app, client_id)[1].event_type == "api_grants_changed"

    assert dashboard.post(url(client_id, "apis"), {}).status_code == 302
    assert load(app, client_id).grants == []
    assert client.post(TOKEN_URL, data=request, headers=basic(client_id, secret)).json["error"] == "access_denied"


def test_api_grants_refuse_an_unknown_scope(client, dashboard, app):
    client_id, _ = make_app(app, grant=None)
    response = dashboard.post(url(client_id, "apis"), {"api_0": "y", "scopes_0": ["delete:everything"]})
    assert response.status_code == 400
    assert "not a valid choice" in response.get_data(as_text=True)
    assert load(app, client_id).grants == []


def test_scopes_ticked_without_allowing_the_api_are_refused_with_what_to_do(client, dashboard, app):
    client_id, _ = make_app(app, grant=None)
    response = dashboard.post(url(client_id, "apis"), {"scopes_0": ["read:demo"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You ticked scopes for Demo API, but not “Allow tokens for Demo API”. Tick it" in html
    assert load(app, client_id).grants == []


def test_saving_the_api_tab_unchanged_says_so(client, dashboard, app):
    client_id, _ = make_app(app, grant=None)
    response = dashboard.post(url(client_id, "apis"), {})
    assert "Nothing changed: the boxes ticked are what was already saved." in client.get(
        response.headers["Location"]).get_data(as_text=True)


def test_the_create_form_defaults_follow_the_application_type(client, dashboard):
    """Auth0's defaults: the first type listed, regular web, with its grants and a secret; every type's
    defaults are on the form for static/app.js to apply when the type changes."""
    html = client.get("/applications/new").get_data(as_text=True)
    assert '<option selected value="regular_web">' in html
    assert "data-type-defaults=" in html
    assert '"spa": {"grant_types": ["authorization_code", "refresh_token"], "method": "none"}' in html
    ticked = re.findall(r'<input[^>]*\bchecked\b[^>]*>', html)
    assert any('value="authorization_code"' in t for t in ticked)
    assert any('value="client_secret_basic"' in t for t in ticked)


def test_a_name_only_web_application_is_refused_with_the_reason(client, dashboard, app):
    response = dashboard.post("/applications/new", {"name": "Shop", "app_type": "regular_web",
                                                    "grant_types": ["authorization_code", "refresh_token"],
                                                    "token_endpoint_auth_method": "client_secret_basic"})
    assert response.status_code == 400
    assert "needs at least one allowed callback URL" in response.get_data(as_text=True)
    assert count_applications(app) == 0


def test_a_public_application_with_client_credentials_is_refused(client, dashboard, app):
    """RFC 6749 §4.4: the token endpoint refuses client credentials to a public client, so creation does too."""
    data = {**GOOD, "app_type": "spa", "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "client_credentials"], "callback_urls": "https://spa.example/cb"}
    response = dashboard.post("/applications/new", data)
    assert response.status_code == 400
    assert "cannot use the client credentials grant" in response.get_data(as_text=True)
    assert count_applications(app) == 0

