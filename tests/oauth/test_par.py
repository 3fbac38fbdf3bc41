"""RFC 9126 Pushed Authorization Requests: POST /oauth/par with each client-auth method, plain or
signed (JAR), then /authorize with the request_uri - one-time, bound to its client, expiring."""
import re
from datetime import timedelta

import pytest

from models import PushedRequest, db
from models.timeutil import utcnow
from tests.certificates import self_signed_certificate
from tests.factories import DEMO_API, ISSUER, last_event, make_assertion, make_jwt_app, make_rsa_key, register_key
from tests.oauth.client_auth.test_mtls import register_certificate
from tests.oauth.flow import (
    CALLBACK,
    authorize_url,
    consent_page,
    decide,
    exchange,
    make_user,
    make_web_app,
    pkce_pair,
    query_of,
    set_callbacks,
)
from tests.oauth.test_request_objects import request_object

EDGE_SECRET = "edge-secret-for-tests"
URN = "urn:ietf:params:oauth:request_uri:"
VERIFIER, CHALLENGE = pkce_pair()
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def app_config():
    return {"APPCREDS_EDGE_SECRET": EDGE_SECRET}


@pytest.fixture
def web_app(app):
    make_user(app)
    return make_web_app(app)


def pushed_parameters(**overrides):
    parameters = {"response_type": "code", "redirect_uri": CALLBACK, "scope": "read:demo", "state": "pushed-state",
                  "audience": DEMO_API, "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    parameters.update(overrides)
    return {k: v for k, v in parameters.items() if v is not None}


def push(client, client_id, secret, **overrides):
    return client.post("/oauth/par", data=pushed_parameters(**overrides), auth=(client_id, secret))


def authorize_with(client, client_id, request_uri, **outside):
    return client.get(authorize_url({"client_id": client_id, "request_uri": request_uri, **outside}))


def assert_invalid_request_uri_page(response):
    assert response.status_code == 400 and "Location" not in response.headers
    assert '<code id="oauth-error">invalid_request_uri</code>' in response.get_data(as_text=True)


def test_a_pushed_request_leads_to_a_code_and_tokens(client, app, web_app):
    client_id, secret = web_app
    response = push(client, client_id, secret)
    # RFC 9126 §2.2: 201 with request_uri and expires_in.
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert set(response.json) == {"request_uri", "expires_in"}
    assert response.json["request_uri"].startswith(URN) and response.json["expires_in"] == 60
    event = last_event(app, client_id)
    assert (event.endpoint, event.method, event.outcome) == ("par", "client_secret_basic", "success")

    page = consent_page(client, {"client_id": client_id, "request_uri": response.json["request_uri"],
                                 "scope": "read:demo write:demo"})
    html = page.get_data(as_text=True)
    assert "pushed this request to the server first (PAR, RFC 9126)" in html
    assert "scope=read:demo write:demo in the URL was ignored: only the pushed request counts." in html
    query = query_of(decide(client, page).headers["Location"])
    assert query["state"] == "pushed-state"
    tokens = exchange(client, client_id, secret, query["code"], VERIFIER)
    assert tokens.status_code == 200 and tokens.json["scope"] == "read:demo"


def test_pushed_parameters_are_stored_without_client_credentials(client, app, web_app):
    client_id, secret = web_app
    client.post("/oauth/par", data={**pushed_parameters(), "client_id": client_id, "client_secret": "ignored"},
                auth=(client_id, secret))
    with app.app_context():
        assert db.session.execute(db.select(PushedRequest)).first() is None  # two mechanisms: refused
    client.post("/oauth/par", data={**pushed_parameters(), "client_id": client_id}, auth=(client_id, secret))
    with app.app_context():
        stored = db.session.execute(db.select(PushedRequest)).scalar_one()
        assert secret not in str(stored.parameters)
        assert set(stored.parameters) <= {"response_type", "redirect_uri", "scope", "state", "audience",
                                          "code_challenge", "code_challenge_method", "client_id"}


def test_a_private_key_jwt_application_pushes_with_its_assertion(client, app):
    client_id, key, kid = make_jwt_app(app, app_type="regular_web", grant_types=["authorization_code"],
                                       callback_urls=[CALLBACK])
    response = client.post("/oauth/par", data={**pushed_parameters(), "client_assertion_type": ASSERTION_TYPE,
                                               "client_assertion": make_assertion(client_id, key, kid)})
    assert response.status_code == 201, response.json
    assert (last_event(app, client_id).endpoint, last_event(app, client_id).method) == ("par", "private_key_jwt")


def test_an_mtls_application_pushes_with_its_certificate(client, app):
    client_id, _ = make_web_app(app)
    certificate = self_signed_certificate("par-client")
    register_certificate(app, client_id, certificate)
    headers = {"cname-api-key": EDGE_SECRET, "client-certificate": certificate.header_value,
               "client-certificate-ca-verified": "NONE"}
    response = client.post("/oauth/par", data={**pushed_parameters(), "client_id": client_id}, headers=headers)
    assert response.status_code == 201, response.json
    assert last_event(app, client_id).method == "self_signed_tls_client_auth"


def test_a_public_client_pushes_with_its_client_id(client, app):
    client_id, _ = make_web_app(app, method="none")
    response = client.post("/oauth/par", data={**pushed_parameters(), "client_id": client_id})
    assert response.status_code == 201


def test_a_signed_request_can_be_pushed(client, app, web_app):
    client_id, secret = web_app
    key = make_rsa_key("jar-key-1")
    kid = register_key(app, client_id, key, "RS256", use="jar")["kid"]
    value = request_object(client_id, key, kid, state="signed-state")
    response = client.post("/oauth/par", data={"request": value, "scope": "write:demo"}, auth=(client_id, secret))
    assert response.status_code == 201, response.json
    page = consent_page(client, {"client_id": client_id, "request_uri": response.json["request_uri"]})
    html = page.get_data(as_text=True)
    assert "scope=write:demo in the URL was ignored: only the signed request object counts." in html
    assert query_of(decide(client, page).headers["Location"])["state"] == "signed-state"


def test_a_bad_signed_request_is_refused_at_par_and_logged(client, app, web_app):
    client_id, secret = web_app
    register_key(app, client_id, make_rsa_key("jar-key-1"), "RS256", use="jar")
    value = request_object(client_id, make_rsa_key("stranger"))
    response = client.post("/oauth/par", data={"request": value}, auth=(client_id, secret))
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request_object",
                             "error_description": "the request object signature does not verify"}
    event = last_event(app, client_id)
    assert (event.event_type, event.endpoint, event.reason_code) == ("authorization_request", "par", "bad_signature")


# --- every bad case ------------------------------------------------------------------------------

def test_a_request_uri_is_used_once(client, app, web_app):
    client_id, secret = web_app
    request_uri = push(client, client_id, secret).json["request_uri"]
    assert authorize_with(client, client_id, request_uri).headers["Location"].startswith("/authorize/continue")
    assert_invalid_request_uri_page(authorize_with(client, client_id, request_uri))
    assert last_event(app, client_id).reason_code == "unusable_request_uri"


def test_an_expired_request_uri_is_refused(client, app, web_app):
    client_id, secret = web_app
    request_uri = push(client, client_id, secret).json["request_uri"]
    with app.app_context():
        db.session.execute(db.update(PushedRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert_invalid_request_uri_page(authorize_with(client, client_id, request_uri))


def test_another_clients_request_uri_is_refused_and_not_burnt(client, app, web_app):
    client_id, secret = web_app
    thief_id, _ = make_web_app(app, name="Thief app")
    request_uri = push(client, client_id, secret).json["request_uri"]
    assert_invalid_request_uri_page(authorize_with(client, thief_id, request_uri))
    assert authorize_with(client, client_id, request_uri).headers["Location"].startswith("/authorize/continue")


@pytest.mark.parametrize("request_uri", [
    "https://attacker.example/request.jwt", "http://169.254.169.254/latest/meta-data", URN + "made-up",
])
def test_only_request_uris_from_our_par_endpoint_are_accepted(client, web_app, request_uri):
    """RFC 9101 §10.4.1 (SSRF): a request_uri is never fetched."""
    client_id, _ = web_app
    assert_invalid_request_uri_page(authorize_with(client, client_id, request_uri))


def test_an_unregistered_redirect_uri_is_refused_at_par(client, app, web_app):
    client_id, secret = web_app
    response = push(client, client_id, secret, redirect_uri="https://evil.example/cb")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "Location" not in response.headers
    with app.app_context():
        assert db.session.execute(db.select(PushedRequest)).first() is None


@pytest.mark.parametrize("overrides, error", [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "admin"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_par_validates_like_the_authorization_endpoint(client, web_app, overrides, error):
    """RFC 9126 §2.1: the pushed request is validated as /authorize would; errors come back as JSON."""
    client_id, secret = web_app
    response = push(client, client_id, secret, **overrides)
    assert (response.status_code, response.json["error"]) == (400, error)
    assert "state" not in response.json


def test_par_requires_pkce_from_a_confidential_client_unless_it_opted_out(client, app, web_app, runner):
    """RFC 9700 §2.1.1, RFC 9126 §2.1: PAR refuses what /authorize would, PKCE included."""
    client_id, secret = web_app
    response = push(client, client_id, secret, code_challenge=None, code_challenge_method=None)
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request",
                             "error_description": "code_challenge is required: this application requires PKCE "
                                                  "(RFC 7636) with code_challenge_method S256"}
    result = runner.invoke(args=["clients", "update", client_id, "--require-pkce", "off"])
    assert result.exit_code == 0, result.output
    assert push(client, client_id, secret, code_challenge=None, code_challenge_method=None).status_code == 201


def test_par_refuses_a_request_uri_parameter(client, web_app):
    client_id, secret = web_app
    response = push(client, client_id, secret, request_uri=URN + "x")
    assert response.json == {"error": "invalid_request",
                              "error_description": "request_uri must not be sent to the PAR endpoint"}


def test_par_requires_client_authentication(client, app, web_app):
    client_id, _ = web_app
    response = push(client, client_id, "wrong secret")
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    event = last_event(app, client_id)
    assert (event.endpoint, event.outcome, event.reason_code) == ("par", "failure", "wrong_secret")
    anonymous = client.post("/oauth/par", data=pushed_parameters())
    assert anonymous.status_code == 401


# --- require PAR, expiry --------------------------------------------------------------------------

def test_an_application_requiring_par_refuses_plain_requests(client, app, web_app, runner):
    client_id, secret = web_app
    result = runner.invoke(args=["clients", "update", client_id, "--require-par", "on"])
    assert result.exit_code == 0, result.output
    plain = client.get(authorize_url({"client_id": client_id, **pushed_parameters()}))
    query = query_of(plain.headers["Location"])
    assert (query["error"], query["state"], query["iss"]) == ("invalid_request", "pushed-state", ISSUER)
    assert "must push its authorization requests to /oauth/par" in query["error_description"]
    request_uri = push(client, client_id, secret).json["request_uri"]
    assert authorize_with(client, client_id, request_uri).headers["Location"].startswith("/authorize/continue")


def test_par_with_signed_requests_required_refuses_plain_parameters(client, app, web_app, runner):
    client_id, secret = web_app
    register_key(app, client_id, make_rsa_key("jar-key-1"), "RS256", use="jar")
    runner.invoke(args=["clients", "update", client_id, "--require-signed-requests", "on"])
    response = push(client, client_id, secret)
    assert response.status_code == 400
    assert response.json["error_description"].startswith("this application requires signed authorization requests")


def test_the_request_uri_lifetime_is_per_application(client, app, web_app, runner):
    client_id, secret = web_app
    assert runner.invoke(args=["clients", "update", client_id, "--par-expiry", "300"]).exit_code == 0
    assert push(client, client_id, secret).json["expires_in"] == 300
    for bad in ("9", "601"):
        result = runner.invoke(args=["clients", "update", client_id, "--par-expiry", bad])
        assert result.exit_code != 0 and "10 to 600 seconds" in result.output


def test_a_pushed_request_without_redirect_uri_uses_the_only_registered_one(client, app, web_app):
    client_id, secret = web_app
    request_uri = push(client, client_id, secret, redirect_uri=None).json["request_uri"]
    page = consent_page(client, {"client_id": client_id, "request_uri": request_uri})
    location = decide(client, page).headers["Location"]
    assert location.startswith(CALLBACK + "?")
    code = query_of(location)["code"]
    # No redirect_uri in the request, so none at the token endpoint either (RFC 6749 §4.1.3).
    assert exchange(client, client_id, secret, code, VERIFIER, redirect_uri=None).status_code == 200
    set_callbacks(app, client_id, [CALLBACK, "https://app.example/two"])
    assert push(client, client_id, secret, redirect_uri=None).status_code == 400


def test_the_browser_never_sees_pushed_parameters_before_consent(client, app, web_app):
    client_id, secret = web_app
    request_uri = push(client, client_id, secret, state="secret-ish-state").json["request_uri"]
    response = authorize_with(client, client_id, request_uri)
    assert "secret-ish-state" not in response.headers["Location"]
    assert re.fullmatch(r"/authorize/continue\?tx=[\w-]+", response.headers["Location"])
