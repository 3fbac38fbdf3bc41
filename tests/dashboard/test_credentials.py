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
    return dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"))


def rotate(dashboard, client_id):
    return dashboard.post(url(client_id, "credentials/rotate"))


def switch_method(dashboard, client_id, method):
    return dashboard.post(url(client_id, "credentials/method"), {"token_endpoint_auth_method": method},
                          page=url(client_id, "credentials"))


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


def test_reveal_by_get_is_not_allowed(client, dashboard, confidential_app):
    client_id, secret = confidential_app
    response = client.get(url(client_id, "credentials/reveal"))
    assert response.status_code == 405
    assert secret not in response.get_data(as_text=True)


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


@pytest.mark.parametrize("method", ["tls_client_auth", "self_signed_tls_client_auth"])
def test_switch_to_mtls_without_a_certificate_is_refused(client, dashboard, app, confidential_app, method):
    client_id, _ = confidential_app
    assert switch_method(dashboard, client_id, method).status_code == 400
    assert load(app, client_id).token_endpoint_auth_method == "client_secret_basic"


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
    assert "A client secret was generated for it." in page
    secret = shown_secret(reveal(dashboard, client_id).get_data(as_text=True))
    assert token_with_basic(client, client_id, secret).status_code == 200


def test_switch_to_the_current_method_changes_nothing(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    response = switch_method(dashboard, client_id, "client_secret_basic")
    assert response.status_code == 302
    assert "already uses client_secret_basic" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_switch_to_private_key_jwt_with_a_registered_key_is_accepted(client, dashboard, app, confidential_app):
    """The switch is data, not code: once a key is registered the same form accepts the method."""
    client_id, _ = confidential_app
    with app.app_context():
        application = find_application(client_id)
        db.session.add(Credential(client_pk=application.id, usage="private_key_jwt", credential_type="public_key",
                                  name="test key", alg="RS256", pem="(not checked by the switch)"))
        db.session.commit()
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


def test_credentials_tab_shows_its_sections_in_the_listed_order(client, dashboard, confidential_app):
    html = client.get(url(confidential_app[0], "credentials")).get_data(as_text=True)
    headings = ["client-id-heading", "secret-heading", "method-heading", "private-key-jwt-heading", "mtls-heading",
                "proof-of-possession-heading", "jar-heading", "request-policy-heading"]
    positions = [html.index(f'id="{heading}"') for heading in headings]
    assert positions == sorted(positions)
