"""POST /oauth/token with client_credentials: request shape, APIs and scopes, RFC 9068 tokens."""
import base64
import json

import jwt as pyjwt
import pytest

from tests.factories import DEMO_API, ISSUER, TOKEN_URL, last_event, make_app

MANAGEMENT_API = ISSUER + "api/v2/"


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def m2m(app):
    return make_app(app, scopes=("read:demo", "write:demo"))


def post_token(client, credentials, **form):
    form.setdefault("grant_type", "client_credentials")
    return client.post(TOKEN_URL, data=form, headers=basic(*credentials))


def verify_with_jwks(client, token, audience=DEMO_API):
    """Verify like an independent resource server would: PyJWT and the published JWKS."""
    jwks = client.get("/.well-known/jwks.json").json
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=["RS256"], audience=audience, issuer=ISSUER)


def test_issues_an_rfc9068_access_token(client, m2m):
    response = post_token(client, m2m, audience=DEMO_API)
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "read:demo write:demo")
    assert pyjwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"  # RFC 9068 §2.1
    claims = verify_with_jwks(client, body["access_token"])
    assert claims["client_id"] == m2m[0]
    assert claims["sub"] == f"{m2m[0]}@clients"
    assert claims["exp"] - claims["iat"] == 3600
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"}


def test_each_token_has_its_own_jti(client, m2m):
    first = verify_with_jwks(client, post_token(client, m2m, audience=DEMO_API).json["access_token"])
    second = verify_with_jwks(client, post_token(client, m2m, audience=DEMO_API).json["access_token"])
    assert first["jti"] != second["jti"]


def test_narrows_to_requested_scopes(client, m2m):
    response = post_token(client, m2m, audience=DEMO_API, scope="read:demo")
    assert response.json["scope"] == "read:demo"


def test_rejects_a_scope_that_is_not_granted(client, app):
    credentials = make_app(app, scopes=("read:demo",))
    response = post_token(client, credentials, audience=DEMO_API, scope="read:demo write:demo")
    assert (response.status_code, response.json["error"]) == (400, "invalid_scope")
    assert "write:demo" in response.json["error_description"]


def test_refuses_an_api_that_is_not_granted(client, m2m):
    response = post_token(client, m2m, audience=MANAGEMENT_API)
    assert response.status_code == 400
    assert response.json == {"error": "access_denied",
                             "error_description": "the application is not granted access to this API"}


def test_refuses_an_unknown_api(client, m2m):
    response = post_token(client, m2m, audience="https://nowhere.example/")
    assert (response.status_code, response.json["error"]) == (400, "access_denied")


def test_requires_an_audience_without_a_default(client, m2m):
    response = post_token(client, m2m)
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request",
                             "error_description": "audience is required: name the API the token is for"}


class TestDefaultAudience:
    @pytest.fixture
    def app_config(self):
        return {"APPCREDS_DEFAULT_AUDIENCE": DEMO_API}

    def test_uses_the_default_audience(self, client, m2m):
        response = post_token(client, m2m)
        assert response.status_code == 200
        assert verify_with_jwks(client, response.json["access_token"])["aud"] == DEMO_API


def test_refuses_a_client_without_the_grant_type(client, app):
    credentials = make_app(app, app_type="regular_web", grant_types=["authorization_code"],
                           callback_urls=["https://app.example/cb"])
    response = post_token(client, credentials, audience=DEMO_API)
    assert (response.status_code, response.json["error"]) == (400, "unauthorized_client")


def test_missing_grant_type(client, app, m2m):
    response = client.post(TOKEN_URL, data={"audience": DEMO_API}, headers=basic(*m2m))
    assert (response.status_code, response.json) == (
        400, {"error": "invalid_request", "error_description": "grant_type is required"})
    assert last_event(app, m2m[0]).reason_code == "malformed_request"


def test_repeated_grant_type(client, m2m):
    """RFC 6749 §3.2: parameters MUST NOT be included more than once."""
    response = client.post(TOKEN_URL, data="grant_type=client_credentials&grant_type=client_credentials",
                           content_type="application/x-www-form-urlencoded", headers=basic(*m2m))
    assert (response.status_code, response.json) == (
        400, {"error": "invalid_request", "error_description": "parameter grant_type is included more than once"})


def test_grant_type_in_query_string_only(client, m2m):
    response = client.post(TOKEN_URL + "?grant_type=client_credentials", data={"audience": DEMO_API},
                           headers=basic(*m2m))
    assert response.json["error_description"] == "grant_type must be sent in the request body, not the query string"


def test_unsupported_grant_type(client, m2m):
    response = post_token(client, m2m, grant_type="password")
    assert (response.status_code, response.json["error"]) == (400, "unsupported_grant_type")


def test_unsupported_content_type(client, m2m):
    response = client.post(TOKEN_URL, data="grant_type=client_credentials", content_type="text/plain",
                           headers=basic(*m2m))
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("body", ["[1, 2]", "{not json", '"a string"'])
def test_malformed_json_body(client, m2m, body):
    response = client.post(TOKEN_URL, data=body, content_type="application/json", headers=basic(*m2m))
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request",
                             "error_description": "the JSON body must be an object of string parameters"}


@pytest.mark.parametrize("path", [TOKEN_URL, "/oauth/par", "/oauth/introspect", "/oauth/revoke"])
@pytest.mark.parametrize("body", ["[" * 50_000, '{"a":' * 10_000])
def test_deeply_nested_json_is_invalid_request_not_a_server_error(client, m2m, path, body):
    """RFC 6749 §5.2: a malformed request answers 400 invalid_request (issue 10, vulnerability 7:
    nesting deep enough to exhaust Python's recursion limit gave a 500)."""
    response = client.post(path, data=body, content_type="application/json", headers=basic(*m2m))
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request",
                             "error_description": "the JSON body must be an object of string parameters"}


def test_non_utf8_body_is_not_a_server_error(client, m2m):
    response = client.post(TOKEN_URL, data=b"grant_type=client_credentials&audience=\xff\xfe",
                           content_type="application/x-www-form-urlencoded", headers=basic(*m2m))
    assert response.status_code in (400, 401)
    assert response.json["error"] in ("invalid_request", "access_denied", "invalid_client")


def test_oversized_body(client, app, m2m):
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "pad": "x" * 70_000},
                           headers=basic(*m2m))
    assert response.status_code == 413
    assert response.json == {"error": "invalid_request", "error_description": "the request body is too large"}
    assert last_event(app).reason_code == "body_too_large"


def test_get_is_not_allowed_and_answers_json(client):
    response = client.get(TOKEN_URL)
    assert response.status_code == 405
    assert response.json["error"] == "invalid_request"


def test_unknown_oauth_path_answers_json(client):
    response = client.get("/oauth/nothing-here")
    assert response.status_code == 404
    assert response.json["error"] == "invalid_request"


def test_token_response_is_not_cached(client, m2m):
    response = post_token(client, m2m, audience=DEMO_API)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert json.loads(response.get_data())  # a JSON document


def test_metadata_describes_exactly_what_is_supported(client):
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = client.get(path).json
        assert metadata["issuer"] == ISSUER
        assert metadata["token_endpoint"] == ISSUER + "oauth/token"
        assert metadata["jwks_uri"] == ISSUER + ".well-known/jwks.json"
        assert metadata["grant_types_supported"] == ["client_credentials", "authorization_code", "refresh_token"]
        assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"]
        assert "client_secret_post" in metadata["token_endpoint_auth_methods_supported"]
        # Public clients redeem codes with PKCE (issue 5); the authorization endpoint is in
        # tests/oauth/test_discovery.py.
        assert "none" in metadata["token_endpoint_auth_methods_supported"]


def test_issuer_always_ends_with_a_slash(instance_path):
    from tests.conftest import _make_app

    app = _make_app(instance_path, APPCREDS_ISSUER="https://auth.example.com")
    assert app.config["APPCREDS_ISSUER"] == "https://auth.example.com/"


def test_signing_key_rotation_keeps_tokens_verifiable(client, app, runner, m2m):
    jwks_before = {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert len(jwks_before) == 2  # current and next
    old_token = post_token(client, m2m, audience=DEMO_API).json["access_token"]
    old_kid = pyjwt.get_unverified_header(old_token)["kid"]

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output

    jwks_after = {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    new_token = post_token(client, m2m, audience=DEMO_API).json["access_token"]
    new_kid = pyjwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    assert new_kid in jwks_before            # it was published as "next" before it signed anything
    assert old_kid in jwks_after             # tokens signed before the rotation still verify
    assert len(jwks_after) == 3              # previous, current, next
    verify_with_jwks(client, old_token)
    verify_with_jwks(client, new_token)


def test_jwks_publishes_public_keys_only(client):
    for key in client.get("/.well-known/jwks.json").json["keys"]:
        assert key["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
