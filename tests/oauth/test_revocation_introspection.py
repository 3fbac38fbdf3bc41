"""RFC 7009 revocation and RFC 7662 introspection: client authentication through the front door
(recorded like the token endpoint's), what each token looks like, and revocation taking effect
at once in the demo API and in introspection."""
import pytest

from tests.certificates import self_signed_certificate
from tests.factories import DEMO_API, ISSUER, TOKEN_URL, events, last_event, make_app, make_assertion, make_jwt_app
from tests.oauth.flow import authorize_params, exchange, get_code, make_user, make_web_app

EDGE_SECRET = "edge-secret-for-tests"


@pytest.fixture
def app_config():
    return {"APPCREDS_EDGE_SECRET": EDGE_SECRET}


@pytest.fixture
def web_app(app):
    make_user(app)
    return make_web_app(app)


@pytest.fixture
def user_tokens(client, web_app):
    client_id, secret = web_app
    code = get_code(client, authorize_params(client_id))["code"]
    return exchange(client, client_id, secret, code).json


def introspect(client, client_id, secret, token, **extra):
    return client.post("/oauth/introspect", data={"token": token, **extra}, auth=(client_id, secret))


def revoke(client, client_id, secret, token, **extra):
    return client.post("/oauth/revoke", data={"token": token, **extra}, auth=(client_id, secret))


def whoami(client, access_token):
    return client.get("/api/demo/whoami", headers={"Authorization": f"Bearer {access_token}"})


# --- introspection -----------------------------------------------------------------------------

def test_introspection_describes_an_active_access_token(client, app, web_app, user_tokens):
    client_id, secret = web_app
    response = introspect(client, client_id, secret, user_tokens["access_token"])
    assert response.status_code == 200
    body = response.json
    assert body["active"] is True
    assert (body["token_type"], body["client_id"], body["scope"], body["aud"], body["iss"]) == (
        "Bearer", client_id, "read:demo", DEMO_API, ISSUER)
    assert body["sub"].startswith("appcreds|")
    assert body["exp"] - body["iat"] == 3600
    assert "cnf" not in body
    event = last_event(app, client_id)
    assert (event.endpoint, event.method, event.outcome) == ("introspection", "client_secret_basic", "success")


def test_introspection_describes_a_refresh_token(client, web_app, user_tokens):
    client_id, secret = web_app
    body = introspect(client, client_id, secret, user_tokens["refresh_token"],
                      token_type_hint="access_token").json  # only a hint: the token decides
    assert body["active"] is True
    assert (body["token_type"], body["client_id"], body["scope"], body["aud"]) == (
        "refresh_token", client_id, "read:demo", DEMO_API)


def test_introspection_shows_the_certificate_binding(client, app):
    certificate = self_signed_certificate("bound")
    client_id, secret = make_app(app)
    headers = {"cname-api-key": EDGE_SECRET, "client-certificate": certificate.header_value}
    token = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                        auth=(client_id, secret), headers=headers).json["access_token"]
    body = introspect(client, client_id, secret, token).json
    assert body["cnf"] == {"x5t#S256": certificate.thumbprint}
    assert body["sub"] == f"{client_id}@clients"


@pytest.mark.parametrize("token", ["nonsense", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_unknown_tokens_are_simply_inactive(client, web_app, token):
    client_id, secret = web_app
    assert introspect(client, client_id, secret, token).json == {"active": False}


def test_an_application_cannot_introspect_another_applications_token(client, app, user_tokens):
    """RFC 7662 §2.2: not permitted looks exactly like inactive."""
    other_id, other_secret = make_app(app, name="Curious backend")
    assert introspect(client, other_id, other_secret, user_tokens["access_token"]).json == {"active": False}
    assert introspect(client, other_id, other_secret, user_tokens["refresh_token"]).json == {"active": False}


def test_a_rotated_refresh_token_is_inactive(client, web_app, user_tokens):
    client_id, secret = web_app
    client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": user_tokens["refresh_token"]},
                auth=(client_id, secret))
    assert introspect(client, client_id, secret, user_tokens["refresh_token"]).json == {"active": False}


def test_introspection_requires_the_token_parameter(client, web_app):
    client_id, secret = web_app
    for data in ({}, {"token": ""}):
        response = client.post("/oauth/introspect", data=data, auth=(client_id, secret))
        assert response.json == {"error": "invalid_request", "error_description": "token is required"}


def test_introspection_refuses_a_wrong_secret_and_records_it(client, app, web_app, user_tokens):
    client_id, _ = web_app
    response = introspect(client, client_id, "wrong", user_tokens["access_token"])
    assert response.status_code == 401
    assert response.json == {"error": "invalid_client", "error_description": "client authentication failed"}
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    event = last_event(app, client_id)
    assert (event.endpoint, event.outcome, event.reason_code) == ("introspection", "failure", "wrong_secret")


def test_a_public_client_cannot_introspect(client, app):
    client_id, _ = make_web_app(app, method="none")
    response = client.post("/oauth/introspect", data={"token": "x", "client_id": client_id})
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "method_not_allowed_here"


def test_a_private_key_jwt_application_introspects_with_its_assertion(client, app):
    client_id, key, kid = make_jwt_app(app)
    token = client.post(TOKEN_URL, data={
        "grant_type": "client_credentials", "audience": DEMO_API,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": make_assertion(client_id, key, kid)}).json["access_token"]
    response = client.post("/oauth/introspect", data={
        "token": token, "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": make_assertion(client_id, key, kid)})
    assert response.json["active"] is True
    assert (last_event(app, client_id).endpoint, last_event(app, client_id).method) == (
        "introspection", "private_key_jwt")


def test_the_method_is_the_applications_own_at_introspection_too(client, app, web_app, user_tokens):
    client_id, secret = web_app
    response = client.post("/oauth/introspect", data={"token": user_tokens["access_token"], "client_id": client_id,
                                                      "client_secret": secret})
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "method_not_registered"


# --- revocation --------------------------------------------------------------------------------

def test_a_revoked_access_token_is_refused_at_once(client, app, web_app, user_tokens):
    client_id, secret = web_app
    access_token = user_tokens["access_token"]
    assert whoami(client, access_token).status_code == 200
    response = revoke(client, client_id, secret, access_token, token_type_hint="access_token")
    assert (response.status_code, response.json) == (200, {})
    event = last_event(app, client_id)
    assert (event.endpoint, event.outcome) == ("revocation", "success")
    refused = whoami(client, access_token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert introspect(client, client_id, secret, access_token).json == {"active": False}
    # The refresh token is another matter (RFC 7009 §2.1: MAY); it still works here.
    assert introspect(client, client_id, secret, user_tokens["refresh_token"]).json["active"] is True


def test_revoking_a_refresh_token_revokes_its_family_and_access_tokens(client, web_app, user_tokens):
    """RFC 7009 §2.1: the AS SHOULD also invalidate the access tokens of the same grant."""
    client_id, secret = web_app
    assert revoke(client, client_id, secret, user_tokens["refresh_token"]).status_code == 200
    assert introspect(client, client_id, secret, user_tokens["refresh_token"]).json == {"active": False}
    assert whoami(client, user_tokens["access_token"]).status_code == 401
    refreshed = client.post(TOKEN_URL, data={"grant_type": "refresh_token",
                                             "refresh_token": user_tokens["refresh_token"]}, auth=(client_id, secret))
    assert refreshed.json["error"] == "invalid_grant"


def test_a_client_credentials_token_can_be_revoked(client, app):
    client_id, secret = make_app(app)
    token = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                        auth=(client_id, secret)).json["access_token"]
    assert revoke(client, client_id, secret, token).status_code == 200
    assert whoami(client, token).status_code == 401


@pytest.mark.parametrize("token", ["nonsense", "a.b.c"])
def test_revoking_an_unknown_token_is_still_a_success(client, web_app, token):
    """RFC 7009 §2.2: invalid tokens do not cause an error response."""
    client_id, secret = web_app
    assert (revoke(client, client_id, secret, token).status_code, revoke(client, client_id, secret, token).json) == (
        200, {})


def test_an_application_cannot_revoke_another_applications_token(client, app, user_tokens):
    other_id, other_secret = make_app(app, name="Hostile backend")
    response = revoke(client, other_id, other_secret, user_tokens["access_token"])
    assert (response.status_code, response.json["error"]) == (400, "invalid_grant")
    assert whoami(client, user_tokens["access_token"]).status_code == 200


def test_an_unsupported_token_type_hint_is_refused(client, web_app, user_tokens):
    client_id, secret = web_app
    response = revoke(client, client_id, secret, user_tokens["access_token"], token_type_hint="id_token")
    assert (response.status_code, response.json["error"]) == (400, "unsupported_token_type")


def test_a_public_client_revokes_with_its_client_id(client, app):
    make_user(app)
    client_id, _ = make_web_app(app, method="none")
    from tests.oauth.flow import pkce_pair

    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(client_id, challenge))["code"]
    tokens = exchange(client, client_id, None, code, verifier).json
    response = client.post("/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": client_id})
    assert response.status_code == 200
    assert events(app, client_id)[0].method == "none"


def test_revocation_refuses_a_wrong_secret(client, app, web_app, user_tokens):
    client_id, _ = web_app
    response = revoke(client, client_id, "wrong", user_tokens["access_token"])
    assert response.status_code == 401
    assert whoami(client, user_tokens["access_token"]).status_code == 200
    event = last_event(app, client_id)
    assert (event.endpoint, event.reason_code) == ("revocation", "wrong_secret")


def test_revocation_refuses_a_body_that_is_not_a_form(client, app, web_app):
    client_id, secret = web_app
    response = client.post("/oauth/revoke", data="token=x", content_type="text/plain", auth=(client_id, secret))
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")
    assert last_event(app).reason_code == "malformed_request"
