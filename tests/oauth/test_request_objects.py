"""RFC 9101 JWT-Secured Authorization Requests at /authorize, checked as Auth0 does, with every
bad case the issue lists: each is invalid_request_object, on a page until the client and
redirect URI are verified."""
import time
import uuid

import pytest

from models.errors import CredentialError
from tests.factories import DEMO_API, ISSUER, last_event, make_rsa_key, register_key, sign_compact
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
)

VERIFIER, CHALLENGE = pkce_pair()


@pytest.fixture
def jar_app(app):
    """A web application with one JAR key (RS256): (client_id, secret, key, kid)."""
    make_user(app)
    client_id, secret = make_web_app(app)
    key = make_rsa_key("jar-key-1")
    kid = register_key(app, client_id, key, "RS256", use="jar")["kid"]
    return client_id, secret, key, kid


def request_object(own_client_id, key, kid=None, alg="RS256", header=None, **overrides) -> str:
    """A request object as Auth0 wants it; `overrides` replace claims (None removes one)."""
    now = int(time.time())
    claims = {"iss": own_client_id, "aud": ISSUER, "client_id": own_client_id, "response_type": "code",
              "redirect_uri": CALLBACK, "scope": "read:demo", "audience": DEMO_API, "state": "inside-state",
              "code_challenge": CHALLENGE, "code_challenge_method": "S256",
              "iat": now, "nbf": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    claims.update(overrides)
    jose_header = {"alg": alg, "typ": "oauth-authz-req+jwt", **({"kid": kid} if kid else {}), **(header or {})}
    return sign_compact({k: v for k, v in jose_header.items() if v is not None},
                        {k: v for k, v in claims.items() if v is not None}, key)


def signed_authorize(client, client_id, value, **outside):
    return client.get(authorize_url({"client_id": client_id, "request": value, **outside}))


def assert_refused_on_a_page(response, sentence=None):
    """Refused on the error page, with `sentence` (the description, written as a sentence) if given."""
    assert response.status_code == 400 and "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert '<code id="oauth-error">invalid_request_object</code>' in html
    if sentence:
        assert f"<p>{sentence}</p>" in html


def test_a_signed_request_gets_a_code_and_only_its_own_parameters_count(client, app, jar_app):
    """RFC 9101 §6.3: parameters outside the request object are ignored."""
    client_id, secret, key, kid = jar_app
    value = request_object(client_id, key, kid)
    page = consent_page(client, {"client_id": client_id, "request": value, "scope": "read:demo write:demo",
                                 "state": "outside-state"})
    html = page.get_data(as_text=True)
    assert "<code>write:demo</code>" not in html
    assert "scope=read:demo write:demo in the URL was ignored: only the signed request object counts." in html
    assert "state=outside-state in the URL was ignored" in html
    assert "signed request object (JAR, RFC 9101)" in html
    callback = decide(client, page)
    query = query_of(callback.headers["Location"])
    assert query["state"] == "inside-state"
    tokens = exchange(client, client_id, secret, query["code"], VERIFIER)
    assert tokens.status_code == 200 and tokens.json["scope"] == "read:demo"


@pytest.mark.parametrize("alg", ["RS384", "PS256"])
def test_accepts_every_registered_algorithm(client, app, alg):
    client_id, _ = make_web_app(app)
    key = make_rsa_key(f"jar-{alg}")
    kid = register_key(app, client_id, key, alg, use="jar")["kid"]
    response = signed_authorize(client, client_id, request_object(client_id, key, kid, alg=alg))
    assert response.status_code == 302 and response.headers["Location"].startswith("/authorize/continue")


def test_without_kid_each_jar_key_is_tried(client, app, jar_app):
    client_id, _, _, _ = jar_app
    second = make_rsa_key("jar-key-2")
    register_key(app, client_id, second, "RS256", use="jar")
    response = signed_authorize(client, client_id, request_object(client_id, second))
    assert response.headers["Location"].startswith("/authorize/continue")


# --- every bad case ------------------------------------------------------------------------------

def _unsigned(client_id, key, kid):
    return request_object(client_id, None, kid, alg="none")


def _hmac_with_public_key(client_id, key, kid):
    from tests.factories import public_pem

    return request_object(client_id, public_pem(key).encode(), kid, alg="HS256")


BAD_REQUEST_OBJECTS = {
    "unsigned (alg none)": (_unsigned, "alg_not_allowed"),
    "HMAC keyed with the public key": (_hmac_with_public_key, "alg_not_allowed"),
    "signed with an unregistered key": (
        lambda cid, key, kid: request_object(cid, make_rsa_key("stranger"), kid), "bad_signature"),
    "unknown kid": (lambda cid, key, kid: request_object(cid, key, "no-such-kid-123"), "unknown_kid"),
    "alg other than the key's": (lambda cid, key, kid: request_object(cid, key, kid, alg="PS256"), "alg_mismatch"),
    "wrong typ": (lambda cid, key, kid: request_object(cid, key, kid, header={"typ": "at+jwt"}), "wrong_typ"),
    "crit header": (lambda cid, key, kid: request_object(cid, key, kid, header={"crit": ["exp"]}),
                    "crit_not_supported"),
    "wrong aud": (lambda cid, key, kid: request_object(cid, key, kid, aud="https://other-as.example/"),
                  "aud_mismatch"),
    "aud without the trailing slash": (lambda cid, key, kid: request_object(cid, key, kid, aud=ISSUER.rstrip("/")),
                                       "aud_mismatch"),
    "aud as an array": (lambda cid, key, kid: request_object(cid, key, kid, aud=[ISSUER]), "aud_mismatch"),
    "wrong iss": (lambda cid, key, kid: request_object(cid, key, kid, iss="someone-else"), "iss_mismatch"),
    "no iss": (lambda cid, key, kid: request_object(cid, key, kid, iss=None), "iss_mismatch"),
    "expired": (lambda cid, key, kid: request_object(cid, key, kid, exp=int(time.time()) - 5), "expired"),
    "exp more than 60 minutes ahead": (
        lambda cid, key, kid: request_object(cid, key, kid, exp=int(time.time()) + 3700), "exp_too_far"),
    "nbf in the future": (lambda cid, key, kid: request_object(cid, key, kid, nbf=int(time.time()) + 120),
                          "not_yet_valid"),
    "nbf more than 60 minutes ago": (
        lambda cid, key, kid: request_object(cid, key, kid, nbf=int(time.time()) - 3700), "nbf_too_far"),
    # FAPI 1.0 Advanced §5.2.2 (13, 17); issue 10, vulnerability 8: without exp an object replays forever.
    "no exp": (lambda cid, key, kid: request_object(cid, key, kid, exp=None), "missing_exp"),
    "no nbf": (lambda cid, key, kid: request_object(cid, key, kid, nbf=None), "missing_nbf"),
    "no exp, nbf or iat": (lambda cid, key, kid: request_object(cid, key, kid, exp=None, nbf=None, iat=None),
                           "missing_exp"),
    "exp more than 60 minutes after nbf": (
        lambda cid, key, kid: request_object(cid, key, kid, nbf=int(time.time()) - 1800,
                                             exp=int(time.time()) + 1900), "lifetime_too_long"),
    "exp more than 60 minutes after iat": (
        lambda cid, key, kid: request_object(cid, key, kid, iat=int(time.time()) - 1800,
                                             exp=int(time.time()) + 1900), "lifetime_too_long"),
    "mismatched client_id": (lambda cid, key, kid: request_object(cid, key, kid, client_id="other-client"),
                             "client_id_mismatch"),
    "no client_id inside": (lambda cid, key, kid: request_object(cid, key, kid, client_id=None),
                            "missing_client_id"),
    "no response_type inside": (lambda cid, key, kid: request_object(cid, key, kid, response_type=None),
                                "missing_response_type"),
    "jti over 64 bytes": (lambda cid, key, kid: request_object(cid, key, kid, jti="j" * 65), "bad_jti"),
    "request inside": (lambda cid, key, kid: request_object(cid, key, kid, request="x.y.z"), "nested_request"),
    "request_uri inside": (lambda cid, key, kid: request_object(cid, key, kid, request_uri="urn:x"),
                           "nested_request"),
    "a non-string parameter": (lambda cid, key, kid: request_object(cid, key, kid, scope=["read:demo"]),
                               "malformed_parameter"),
    "encrypted (five parts)": (lambda cid, key, kid: "a.b.c.d.e", "encrypted_request_object"),
    "not a JWT": (lambda cid, key, kid: "not-a-jwt", "malformed_request_object"),
    "too large": (lambda cid, key, kid: request_object(cid, key, kid, state="s" * 17000), "request_object_too_large"),
}


@pytest.mark.parametrize("case", list(BAD_REQUEST_OBJECTS))
def test_refuses_a_bad_request_object_on_a_page(client, app, jar_app, case):
    """RFC 9101 §6.3 and Auth0's rules; every failure is invalid_request_object, never server_error."""
    client_id, _, key, kid = jar_app
    make, reason_code = BAD_REQUEST_OBJECTS[case]
    response = signed_authorize(client, client_id, make(client_id, key, kid))
    assert_refused_on_a_page(response)
    event = last_event(app, client_id)
    assert (event.event_type, event.endpoint, event.outcome, event.reason_code) == (
        "authorization_request", "authorize", "failure", reason_code)


def test_a_key_registered_only_for_private_key_jwt_signs_no_request(client, app, jar_app):
    client_id, _, _, _ = jar_app
    pkj_key = make_rsa_key("pkj-only")
    pkj_kid = register_key(app, client_id, pkj_key, "RS256", use="private_key_jwt")["kid"]
    assert_refused_on_a_page(signed_authorize(client, client_id, request_object(client_id, pkj_key, pkj_kid)),
                             "No JAR key of the application has this kid.")
    assert_refused_on_a_page(signed_authorize(client, client_id, request_object(client_id, pkj_key)),
                             "The request object signature does not verify.")


def test_an_application_without_jar_keys_cannot_sign_requests(client, app):
    client_id, _ = make_web_app(app)
    response = signed_authorize(client, client_id, request_object(client_id, make_rsa_key("jar-key-1")))
    assert_refused_on_a_page(response, "The application has no key registered for signed requests.")


def test_the_same_key_pair_cannot_serve_jar_and_private_key_jwt(app, jar_app):
    client_id, _, key, _ = jar_app
    with pytest.raises(CredentialError, match="already registered"):
        register_key(app, client_id, key, "RS256", use="private_key_jwt")


def test_refuses_request_and_request_uri_together(client, app, jar_app):
    client_id, _, key, kid = jar_app
    response = signed_authorize(client, client_id, request_object(client_id, key, kid),
                                request_uri="urn:ietf:params:oauth:request_uri:abc")
    assert_refused_on_a_page(response, "Send request or request_uri, not both.")


def test_redirects_the_error_once_the_outside_client_and_redirect_uri_are_verified(client, app, jar_app):
    """RFC 6749 §4.1.2.1: a registered redirect_uri outside the object is safe to send the error to."""
    client_id, _, key, kid = jar_app
    response = signed_authorize(client, client_id, request_object(client_id, key, kid, aud="https://x.example/"),
                                redirect_uri=CALLBACK, state="outside-state")
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert (query["error"], query["state"], query["iss"]) == ("invalid_request_object", "outside-state", ISSUER)
    # An unregistered one outside gets the page, even though the object names a good one.
    response = signed_authorize(client, client_id, request_object(client_id, key, kid, aud="https://x.example/"),
                                redirect_uri="https://evil.example/")
    assert_refused_on_a_page(response)


def test_an_unregistered_redirect_uri_inside_is_shown_on_a_page(client, app, jar_app):
    client_id, _, key, kid = jar_app
    response = signed_authorize(client, client_id, request_object(client_id, key, kid,
                                                                  redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400 and "Location" not in response.headers


# --- require signed requests ------------------------------------------------------------------------

def test_an_application_requiring_signed_requests_refuses_plain_ones(client, app, jar_app, runner):
    client_id, _, key, kid = jar_app
    result = runner.invoke(args=["clients", "update", client_id, "--require-signed-requests", "on"])
    assert result.exit_code == 0, result.output
    plain = client.get(authorize_url({"client_id": client_id, "response_type": "code", "redirect_uri": CALLBACK,
                                      "state": "s", "audience": DEMO_API}))
    query = query_of(plain.headers["Location"])
    assert query["error"] == "invalid_request"
    assert query["error_description"].startswith("this application requires signed authorization requests")
    signed = signed_authorize(client, client_id, request_object(client_id, key, kid))
    assert signed.headers["Location"].startswith("/authorize/continue")
