"""The Credentials tab: client ID, secret reveal and rotation, the authentication method switch."""
import re

import pytest

from models import db
from models.applications import find_application
from models.credential import Credential
from tests.dashboard.conftest import load, shown_secret, token_with_basic, token_with_post, url
from tests.factories import events, last_event, make_app

GENERIC_FAILURE = {"error": "invalid_client", "error_description": "client authentication failed"}


def reveal(dashboard, client_id):
    """Reveal, then follow the redirect to the page that shows the secret once."""
    return dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"),
                          follow_redirects=True)


def rotate(dashboard, client_id):
    """Rotate, then follow the redirect to the page that shows the new secret once."""
    return dashboard.post(url(client_id, "credentials/rotate"), follow_redirects=True)


def switch_method(dashboard, client_id, method, confirmed="yes"):
    """Switch, confirming a switch that deletes the secret unless `confirmed` is ""."""
    return dashboard.post(url(client_id, "credentials/method"),
                          {"token_endpoint_auth_method": method, "confirmed": confirmed},
                          page=url(client_id, "credentials"))


def checked_methods(html):
    return re.findall(r'<input[^>]*\bchecked\b[^>]*value="([a-z_]+)"', html)


def register_key(app, client_id):
    with app.app_context():
        application = find_application(client_id)
        db.session.add(Credential(client_pk=application.id, usage="private_key_jwt", credential_type="public_key",
                                  name="test key", alg="RS256", pem="(not checked by the switch)"))
        db.session.commit()


def test_shows_the_client_id_with_a_copy_button_and_the_tabs(client, dashboard, confidential_app):
    client_id, _ = confidential_app
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert f'<code id="client-id" class="value">{client_id}</code>' in html
    assert 'data-copy="#client-id"' in html
    assert 'aria-current="page">Credentials</a>' in html
    assert html.count('aria-current="page"') == 1
    for tab in ("settings", "credentials", "apis", "logs"):
        assert f'href="/applications/{client_id}/{tab}"' in html


def test_secret_is_masked_until_revealed(client, dashboard, confidential_app):
    client_id, secret = confidential_app
    response = client.get(url(client_id, "credentials"))
    html = response.get_data(as_text=True)
    assert secret not in html
    assert "Reveal secret" in html and 'class="masked"' in html
    # Reveal is a POST form, never a link.
    assert f'<form method="post" action="/applications/{client_id}/credentials/reveal"' in html


def test_reveal_shows_the_secret_and_records_who_asked(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    response = reveal(dashboard, client_id)
    assert response.status_code == 200
    assert shown_secret(response.get_data(as_text=True)) == secret
    assert response.headers["Cache-Control"] == "no-store"
    event = last_event(app, client_id)
    assert (event.event_type, event.outcome, event.actor, event.source_ip, event.endpoint) == (
        "secret_revealed", "success", "admin@example.com", "127.0.0.1", "dashboard")
    # The next plain visit hides it again.
    assert secret not in client.get(url(client_id, "credentials")).get_data(as_text=True)


def test_reveal_by_get_opens_the_tab_and_reveals_nothing(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    response = client.get(url(client_id, "credentials/reveal"))
    assert (response.status_code, response.headers["Location"]) == (302, url(client_id, "credentials"))
    assert secret not in client.get(response.headers["Location"]).get_data(as_text=True)
    assert not [e for e in events(app, client_id) if e.event_type == "secret_revealed"]


def test_reveal_redirects_and_a_reload_shows_the_secret_masked(client, dashboard, app, confidential_app):
    """Post/redirect/get: the secret is on the one GET after the POST, never in a URL or the session."""
    client_id, secret = confidential_app
    response = dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"))
    assert response.status_code == 303
    assert response.headers["Location"] == url(client_id, "credentials") + "#secret-heading"
    assert secret not in response.headers["Location"]
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    shown = client.get(url(client_id, "credentials"))
    assert shown_secret(shown.get_data(as_text=True)) == secret
    assert shown.headers["Cache-Control"] == "no-store"
    assert "Hide secret" in shown.get_data(as_text=True)
    reloaded = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert secret not in reloaded and 'class="masked"' in reloaded
    assert len([e for e in events(app, client_id) if e.event_type == "secret_revealed"]) == 1


def test_reloading_after_rotate_rotates_nothing(client, dashboard, app, confidential_app):
    """Post/redirect/get: a reload or Back re-sends no form; the secret shown once keeps working."""
    client_id, old_secret = confidential_app
    response = dashboard.post(url(client_id, "credentials/rotate"))
    assert response.status_code == 303
    location = response.headers["Location"]
    new_secret = shown_secret(client.get(location).get_data(as_text=True))
    reloaded = client.get(location).get_data(as_text=True)  # what a reload of the result page does
    assert new_secret not in reloaded and old_secret not in reloaded
    assert len([e for e in events(app, client_id) if e.event_type == "secret_rotated"]) == 1
    assert token_with_basic(client, client_id, new_secret).status_code == 200


def test_the_one_time_mark_is_for_its_own_application(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    other_id, other_secret = make_app(app, method="client_secret_basic", name="Other backend")
    dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"))
    assert other_secret not in client.get(url(other_id, "credentials")).get_data(as_text=True)
    assert shown_secret(client.get(url(client_id, "credentials")).get_data(as_text=True)) == secret


def test_reveal_is_refused_for_a_public_application(client, dashboard, app):
    client_id, _ = make_app(app, app_type="spa", method="none", grant=None)
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert "Reveal secret" not in html and "uses no" in html
    response = reveal(dashboard, client_id)
    assert response.status_code == 400
    assert "no client secret to reveal" in response.get_data(as_text=True)


def test_rotate_asks_for_confirmation(client, dashboard, confidential_app):
    client_id, secret = confidential_app
    page = client.get(url(client_id, "credentials/rotate"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The old secret stops working immediately." in html
    assert token_with_basic(client, client_id, secret).status_code == 200  # the GET changed nothing


def test_rotate_shows_the_new_secret_once_and_the_old_one_stops_working(client, dashboard, app, confidential_app):
    client_id, old_secret = confidential_app
    assert token_with_basic(client, client_id, old_secret).status_code == 200

    response = rotate(dashboard, client_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    new_secret = shown_secret(html)
    assert new_secret != old_secret and old_secret not in html
    assert "The old one stopped working just now" in html
    assert response.headers["Cache-Control"] == "no-store"

    refused = token_with_basic(client, client_id, old_secret)
    assert (refused.status_code, refused.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "wrong_secret"
    accepted = token_with_basic(client, client_id, new_secret)
    assert accepted.status_code == 200 and accepted.json["access_token"]

    rotated = [e for e in events(app, client_id) if e.event_type == "secret_rotated"]
    assert len(rotated) == 1 and rotated[0].actor == "admin@example.com"
    # Not shown again on the next visit.
    assert new_secret not in client.get(url(client_id, "credentials")).get_data(as_text=True)


def test_rotate_is_refused_for_a_public_application(client, dashboard, app):
    client_id, _ = make_app(app, app_type="spa", method="none", grant=None)
    assert "no client" in client.get(url(client_id, "credentials/rotate")).get_data(as_text=True)
    response = rotate(dashboard, client_id)
    assert response.status_code == 400
    assert "Only an application that authenticates with a client secret" in response.get_data(as_text=True)
    assert not load(app, client_id).has_secret


def test_method_switch_offers_every_method_with_help(client, dashboard, confidential_app):
    client_id, _ = confidential_app
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    for method in ("client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth",
                   "self_signed_tls_client_auth", "none"):
        assert re.search(rf'<input[^>]*type="radio" value="{method}">\s*<label for="[^"]+">{method}</label>', html)
    checked = re.findall(r'<input[^>]*\bchecked\b[^>]*value="([a-z_]+)"', html)
    assert checked == ["client_secret_basic"]
    assert "Register a key first." in html  # each method explained in plain words


def test_switches_from_basic_to_post(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    response = switch_method(dashboard, client_id, "client_secret_post")
    assert response.status_code == 302
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_post"
    assert "now authenticates with client_secret_post" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    # The same secret, now only in the body; Basic is refused.
    assert token_with_post(client, client_id, secret).status_code == 200
    refused = token_with_basic(client, client_id, secret)
    assert (refused.status_code, refused.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "method_not_registered"
    changed = [e for e in events(app, client_id) if e.event_type == "auth_method_changed"]
    assert changed[0].reason == "authentication method changed from client_secret_basic to client_secret_post"


def test_switch_to_private_key_jwt_without_a_key_is_a_form_error(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    response = switch_method(dashboard, client_id, "private_key_jwt")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Register a credential for private_key_jwt before switching to it." in html
    assert 'class="field choices has-error"' in html
    assert secret not in html
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"
    assert token_with_basic(client, client_id, secret).status_code == 200


@pytest.mark.parametrize("app_config", [{"APPCREDS_EDGE_SECRET": "edge-secret"}])
@pytest.mark.parametrize("method", ["tls_client_auth", "self_signed_tls_client_auth"])
def test_switch_to_mtls_without_a_certificate_is_refused(client, dashboard, app, confidential_app, method):
    client_id, _ = confidential_app
    response = switch_method(dashboard, client_id, method)
    assert response.status_code == 400
    assert f"Register a credential for {method} before switching to it." in response.get_data(as_text=True)
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"


@pytest.mark.parametrize("method", ["tls_client_auth", "self_signed_tls_client_auth"])
def test_switch_to_mtls_is_refused_while_mtls_is_not_configured(client, dashboard, app, confidential_app, method):
    """Without APPCREDS_EDGE_SECRET no request can bring a certificate: say so, switch nothing."""
    client_id, _ = confidential_app
    response = switch_method(dashboard, client_id, method)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "mTLS is not configured on this server (APPCREDS_EDGE_SECRET is not set)" in html
    assert checked_methods(html) == ["client_secret_basic"]
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"


def test_a_refused_switch_shows_the_method_still_in_force(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    html = switch_method(dashboard, client_id, "private_key_jwt", confirmed="").get_data(as_text=True)
    assert "Register a credential for private_key_jwt before switching to it." in html  # before any confirmation
    assert "The application still uses client_secret_basic." in html
    assert checked_methods(html) == ["client_secret_basic"]


def test_a_switch_that_deletes_the_secret_asks_first_and_says_what_happened(client, dashboard, app,
                                                                            confidential_app):
    client_id, secret = confidential_app
    register_key(app, client_id)
    asked = switch_method(dashboard, client_id, "private_key_jwt", confirmed="")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "Its client secret is deleted." in html and "Switch and delete the secret" in html
    assert '<input type="hidden" name="confirmed" value="yes">' in html
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"
    assert token_with_basic(client, client_id, secret).status_code == 200  # asking changed nothing

    done = switch_method(dashboard, client_id, "private_key_jwt")
    assert done.status_code == 302 and done.headers["Location"].endswith("#method-heading")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "now authenticates with private_key_jwt" in page and "Its client secret was deleted." in page
    assert not load(app, client_id).has_secret


def test_a_switch_between_secret_methods_asks_nothing(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    assert switch_method(dashboard, client_id, "client_secret_post", confirmed="").status_code == 302


@pytest.mark.parametrize("method", ["client_secret_jwt", ""])
def test_switch_to_an_unknown_method_is_refused(client, dashboard, app, confidential_app, method):
    client_id, _ = confidential_app
    response = switch_method(dashboard, client_id, method)
    assert response.status_code == 400
    assert "Choose one of the methods listed." in response.get_data(as_text=True)


def test_machine_to_machine_cannot_become_public(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    response = switch_method(dashboard, client_id, "none")
    assert response.status_code == 400
    assert "cannot be public" in response.get_data(as_text=True)
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"


def test_public_application_gets_a_secret_when_it_switches_to_one(client, dashboard, app):
    client_id, _ = make_app(app, app_type="regular_web", method="none")
    response = switch_method(dashboard, client_id, "client_secret_basic")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A new client secret was generated for it." in page
    secret = shown_secret(reveal(dashboard, client_id).get_data(as_text=True))
    # A public client had no client credentials grant (RFC 6749 §4.4); a confidential one may have it.
    settings = {"name": "Test app", "app_type": "regular_web", "grant_types": ["client_credentials"]}
    assert dashboard.post(url(client_id, "settings"), settings).status_code == 302
    assert token_with_basic(client, client_id, secret).status_code == 200


def test_a_public_application_with_client_credentials_cannot_exist(client, dashboard, app, confidential_app):
    """Switching a client-credentials application to none is refused (RFC 6749 §4.4), through every door's rule."""
    client_id, _ = make_app(app, app_type="regular_web", method="client_secret_basic", name="Web backend")
    response = switch_method(dashboard, client_id, "none")
    assert response.status_code == 400
    assert "cannot use the client credentials grant" in response.get_data(as_text=True)
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"


def test_switch_to_the_current_method_changes_nothing(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    response = switch_method(dashboard, client_id, "client_secret_basic")
    assert response.status_code == 302
    assert "already uses client_secret_basic" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_switch_to_private_key_jwt_with_a_registered_key_is_accepted(client, dashboard, app, confidential_app):
    """The switch is data, not code: once a key is registered the same form accepts the method."""
    client_id, _ = confidential_app
    register_key(app, client_id)
    assert switch_method(dashboard, client_id, "private_key_jwt").status_code == 302
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    assert "Reveal secret" not in html and "uses no" in html


def test_credentials_tab_renders_every_listed_section_with_its_context(client, dashboard, app, confidential_app):
    """A section is a template and a context function in CREDENTIAL_SECTIONS; the tab's template stays as it is."""
    from jinja2 import ChoiceLoader, DictLoader

    from blueprints.dashboard import credentials_tab

    app.jinja_loader  # noqa: B018 - make sure the default loader exists before wrapping it
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"dashboard/credentials/_test_section.html": "<section>Keys of {{ client.name }}: {{ keys }}"
                                                                "</section>"}),
        app.jinja_env.loader,
    ])
    section = ("dashboard/credentials/_test_section.html", lambda c: {"keys": "none yet"})
    credentials_tab.CREDENTIAL_SECTIONS.append(section)
    try:
        html = client.get(url(confidential_app[0], "credentials")).get_data(as_text=True)
    finally:
        credentials_tab.CREDENTIAL_SECTIONS.remove(section)
    assert "<section>Keys of Billing backend: none yet</section>" in html


def test_credentials_tab_shows_its_sections_in_the_listed_order(client, dashboard, app):
    client_id, _ = make_app(app, app_type="regular_web", name="Shop")
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    headings = ["client-id-heading", "secret-heading", "method-heading", "private-key-jwt-heading", "mtls-heading",
                "proof-of-possession-heading", "jar-heading", "request-policy-heading"]
    positions = [html.index(f'id="{heading}"') for heading in headings]
    assert positions == sorted(positions)


def test_every_id_on_the_credentials_tab_is_unique(client, dashboard, app, confidential_app):
    """WCAG 4.1.1: each form's submit button has its own id (no seven id="submit")."""
    client_id, _ = confidential_app
    register_key(app, client_id)
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert 'Rename<span class="visually-hidden"> test key</span>' in html


def test_a_refused_confirmed_switch_asks_again_next_time(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    html = switch_method(dashboard, client_id, "private_key_jwt").get_data(as_text=True)
    assert 'name="confirmed" type="hidden" value=""' in html


def test_the_section_of_the_method_in_use_comes_first_and_open(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    register_key(app, client_id)
    switch_method(dashboard, client_id, "private_key_jwt")
    html = client.get(url(client_id, "credentials")).get_data(as_text=True)
    order = [html.index(f'id="{heading}"') for heading in
             ("client-id-heading", "private-key-jwt-heading", "secret-heading", "method-heading", "mtls-heading")]
    assert order == sorted(order)
    pkjwt = html[html.index('id="private-key-jwt-heading"'):html.index('id="secret-heading"')]
    assert "In use</span>" in pkjwt and '<details class="section-body" open>' in pkjwt
    mtls = html[html.index('id="mtls-heading"'):html.index('id="proof-of-possession-heading"')]
    assert "Not in use: this application authenticates with" in mtls
    assert '<details class="section-body">' in mtls  # collapsed, one click away


def test_a_machine_to_machine_application_has_no_authorization_request_sections(client, dashboard, confidential_app):
    html = client.get(url(confidential_app[0], "credentials")).get_data(as_text=True)
    assert 'id="jar-heading"' not in html and 'id="request-policy-heading"' not in html

