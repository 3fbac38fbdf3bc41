"""private_key_jwt (RFC 7523 §2.2, §3; RFC 7521 §4.2), through the client_credentials grant.

Every refusal asserts the status, the whole JSON body, that no WWW-Authenticate header came
(the client never tried HTTP Basic) and the reason code recorded in the event log.
"""
import base64
import datetime as dt
import http.server
import json
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from models import Credential, db
from models.applications import find_application, set_auth_method
from models.client_secrets import reveal_client_secret
from models.credential_registry import delete_credential, find_credential, rename_credential
from models.errors import CredentialError
from models.timeutil import utcnow
from models.used_assertions import insert_jti, jti_kept_until, jti_store, purge_used_assertions
from tests.conftest import _make_app
from tests.factories import (
    DEMO_API,
    ISSUER,
    TOKEN_URL,
    last_event,
    make_app,
    make_assertion,
    make_ec_key,
    make_jwt_app,
    make_rsa_key,
    public_pem,
    register_key,
    sign_compact,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GENERIC_FAILURE = {"error": "invalid_client", "error_description": "client authentication failed"}


def assertion_request(client, assertion, **form):
    form.setdefault("grant_type", "client_credentials")
    form.setdefault("audience", DEMO_API)
    form.setdefault("client_assertion_type", ASSERTION_TYPE)
    form["client_assertion"] = assertion
    form = {name: value for name, value in form.items() if value is not None}
    return client.post(TOKEN_URL, data=form)


def accepted(client, assertion, **form) -> bool:
    response = assertion_request(client, assertion, **form)
    return response.status_code == 200 and response.json["token_type"] == "Bearer"


def assert_refused(response, app, client_id, reason_code, body=None):
    """401 invalid_client with `body` (the generic one by default), no WWW-Authenticate, logged reason."""
    assert (response.status_code, response.json) == (401, body or GENERIC_FAILURE)
    assert "WWW-Authenticate" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    event = last_event(app, client_id)
    assert (event.outcome, event.method, event.reason_code) == ("failure", "private_key_jwt", reason_code)
    return event


def shape_error(description):
    return {"error": "invalid_client", "error_description": description}


@pytest.fixture
def jwt_app(app):
    """(client_id, private key, kid) of an application registered for private_key_jwt with one RS256 key."""
    return make_jwt_app(app)


def expire_credential(app, client_id, kid):
    """Move a credential's expiry into the past, as time passing would (the registry refuses a past date)."""
    with app.app_context():
        credential = next(c for c in find_application(client_id).credentials if c.kid == kid)
        credential.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()


# --- accepted ------------------------------------------------------------------------------------

def test_accepts_a_valid_assertion(client, app, jwt_app):
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid))
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    event = last_event(app, client_id)
    assert (event.outcome, event.method, event.reason_code) == ("success", "private_key_jwt", "authenticated")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "PS256"])
def test_accepts_each_algorithm_a_key_can_be_registered_with(client, app, alg):
    client_id, key, kid = make_jwt_app(app, alg=alg)
    assert accepted(client, make_assertion(client_id, key, kid, alg=alg))


def test_accepts_an_assertion_without_kid_by_trying_each_key(client, app, jwt_app):
    """Without a kid, each of the (at most two) registered keys is tried."""
    client_id, first_key, _ = jwt_app
    second_key = make_rsa_key("second")
    register_key(app, client_id, second_key)
    assert accepted(client, make_assertion(client_id, first_key))
    assert accepted(client, make_assertion(client_id, second_key))


def test_accepts_nbf_eight_seconds_ahead(client, app, jwt_app):
    """Positive control for the 10-second clock skew (Auth0): nbf 8 s in the future is fine."""
    client_id, key, kid = jwt_app
    now = int(time.time())
    assert accepted(client, make_assertion(client_id, key, kid, nbf=now + 8))


def test_accepts_iat_eight_seconds_ahead(client, app, jwt_app):
    client_id, key, kid = jwt_app
    now = int(time.time())
    assertion = make_assertion(client_id, key, kid, iat=now + 8, exp=now + 68)
    assert accepted(client, assertion)


def test_accepts_a_lifetime_of_exactly_five_minutes(client, app, jwt_app):
    client_id, key, kid = jwt_app
    now = int(time.time())
    assert accepted(client, make_assertion(client_id, key, kid, iat=now, exp=now + 300))


def test_accepts_an_assertion_without_iat(client, app, jwt_app):
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, key, kid, iat=None, exp=int(time.time()) + 290)
    assert accepted(client, assertion)


def test_accepts_a_matching_client_id_in_the_body(client, app, jwt_app):
    client_id, key, kid = jwt_app
    assert accepted(client, make_assertion(client_id, key, kid), client_id=client_id)


def test_accepts_a_json_body(client, app, jwt_app):
    client_id, key, kid = jwt_app
    response = client.post(TOKEN_URL, json={"grant_type": "client_credentials", "audience": DEMO_API,
                                            "client_assertion_type": ASSERTION_TYPE,
                                            "client_assertion": make_assertion(client_id, key, kid)})
    assert response.status_code == 200


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "client-authentication+jwt",
                                 "application/client-authentication+jwt"])
def test_accepts_typ_that_says_jwt_or_client_assertion(client, app, jwt_app, typ):
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid, header={"typ": typ}))
    assert response.status_code == 200


# --- header parameters that point at keys are ignored ------------------------------------------

def self_signed_certificate_der(key) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def key_server():
    """A loopback HTTP server that serves the attacker's JWKS and counts every request it gets."""
    hits = []
    attacker_key = make_rsa_key("attacker")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = json.dumps({"keys": [attacker_jwk(attacker_key)]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", hits, attacker_key
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def attacker_jwk(key) -> dict:
    numbers = key.public_key().public_numbers()

    def b64(value):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "n": b64(numbers.n), "e": b64(numbers.e), "kid": "attacker-key-1"}


def key_pointing_header(url, attacker_key) -> dict:
    return {"jku": url, "x5u": url, "jwk": attacker_jwk(attacker_key),
            "x5c": [base64.b64encode(self_signed_certificate_der(attacker_key)).decode()]}


def test_ignores_jku_x5u_jwk_and_x5c_and_never_fetches(client, app, jwt_app, key_server):
    """Only registered keys verify; header keys and key URLs are neither used nor fetched."""
    client_id, key, kid = jwt_app
    url, hits, attacker_key = key_server
    assertion = make_assertion(client_id, key, kid, header=key_pointing_header(url, attacker_key))
    assert accepted(client, assertion)
    assert hits == []


def test_refuses_an_assertion_signed_with_the_key_its_header_carries(client, app, jwt_app, key_server):
    client_id, _, _ = jwt_app
    url, hits, attacker_key = key_server
    assertion = make_assertion(client_id, attacker_key, header=key_pointing_header(url, attacker_key))
    assert_refused(assertion_request(client, assertion), app, client_id, "bad_signature")
    assert hits == []


# --- shape ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("assertion_type", ["urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                                            ASSERTION_TYPE.upper(), "", None])
def test_refuses_another_client_assertion_type(client, app, jwt_app, assertion_type):
    """RFC 7521 §4.2, RFC 7523 §2.2: client_assertion_type is exactly the jwt-bearer URN."""
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid),
                                 client_assertion_type=assertion_type)
    assert_refused(response, app, client_id, "wrong_assertion_type",
                   shape_error(f"client_assertion_type must be {ASSERTION_TYPE}"))


def test_refuses_a_missing_client_assertion(client, app, jwt_app):
    """RFC 7521 §4.2: client_assertion is REQUIRED."""
    client_id, _, _ = jwt_app
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                            "client_id": client_id, "client_assertion_type": ASSERTION_TYPE})
    assert_refused(response, app, client_id, "malformed_assertion",
                   shape_error("client_assertion is required"))


@pytest.mark.parametrize("assertion", [
    "only.two",
    "a.b.c.d.e",                                   # the shape of a JWE: encrypted, not signed
    "e30.e30.sig=",                                # padding is not base64url
    "e30 .e30.c2ln",                               # a space
    "e30.e30.c",                                   # a signature that is not base64 at all
    "e30.e30.\u00e9",                              # not ASCII
])
def test_refuses_what_is_not_one_compact_jws(client, app, jwt_app, assertion):
    """RFC 7523 §2.2: a single JWT; RFC 7515 §7.1: three base64url parts."""
    client_id, _, _ = jwt_app
    response = assertion_request(client, assertion, client_id=client_id)
    assert_refused(response, app, client_id, "malformed_assertion",
                   shape_error("client_assertion must be one compact JWS: three base64url parts"))


@pytest.mark.parametrize("header, payload", [
    ({"alg": "RS256"}, b"not json"),
    ({"alg": "RS256"}, b"[1, 2]"),                 # JSON, but not an object
    ({"alg": "RS256"}, b'{"sub": "a", "sub": "b"}'),  # duplicate member names (RFC 7515 §5.2)
    ({"alg": "RS256"}, b""),
])
def test_refuses_a_payload_that_is_not_one_json_object(client, app, jwt_app, header, payload):
    client_id, key, _ = jwt_app
    response = assertion_request(client, sign_compact(header, payload, key), client_id=client_id)
    assert_refused(response, app, client_id, "malformed_assertion",
                   shape_error("the client_assertion header and payload must be JSON objects"))


def test_refuses_a_lone_surrogate_in_a_json_body_without_a_server_error(client, app, jwt_app):
    client_id, _, _ = jwt_app
    response = client.post(TOKEN_URL, json={"grant_type": "client_credentials", "audience": DEMO_API,
                                            "client_id": client_id, "client_assertion_type": ASSERTION_TYPE,
                                            "client_assertion": "e30.e30.\ud800"})
    assert_refused(response, app, client_id, "malformed_assertion",
                   shape_error("client_assertion must be one compact JWS: three base64url parts"))


def test_refuses_a_kid_that_is_not_a_string(client, app, jwt_app):
    client_id, key, _ = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, header={"kid": 7}))
    assert_refused(response, app, client_id, "malformed_assertion",
                   shape_error("the client_assertion kid must be a string"))


def test_refuses_an_oversized_assertion(client, app, jwt_app):
    """The whole assertion has a size limit (APPCREDS_ASSERTION_MAX_BYTES, 8192 by default)."""
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, key, kid, padding="x" * 9000)
    response = assertion_request(client, assertion, client_id=client_id)
    assert_refused(response, app, client_id, "assertion_too_large",
                   shape_error("client_assertion may have at most 8192 bytes"))


@pytest.mark.parametrize("claim", ["iss", "sub", "jti"])
def test_refuses_iss_sub_or_jti_longer_than_64_characters(client, app, jwt_app, claim):
    """Auth0's limits: iss, sub and jti have at most 64 characters."""
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid, **{claim: "x" * 65}),
                                 client_id=client_id)
    assert_refused(response, app, client_id, "claim_too_long",
                   shape_error("iss, sub and jti may have at most 64 characters"))


# --- header --------------------------------------------------------------------------------------

ALG_NOT_ALLOWED = shape_error("the client_assertion alg must be one of RS256, RS384, PS256")


@pytest.mark.parametrize("alg", ["none", "None", "RS512", "PS384", "PS512", "EdDSA", "XYZ", "rs256", ""])
def test_refuses_an_algorithm_off_the_list(client, app, jwt_app, alg):
    """RFC 8725 §3.1: only the algorithms keys are registered with; none and the rest are refused."""
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, alg=alg)), app, client_id,
                   "alg_not_allowed", ALG_NOT_ALLOWED)


def test_refuses_a_missing_alg(client, app, jwt_app):
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid, header={"alg": None}))
    assert_refused(response, app, client_id, "alg_not_allowed", ALG_NOT_ALLOWED)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_refuses_an_hmac_keyed_with_the_registered_public_key(client, app, jwt_app, alg):
    """The classic key-confusion attack: HS* with the public PEM as the secret, refused before any key."""
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, public_pem(key).encode(), kid, alg=alg)
    assert_refused(assertion_request(client, assertion), app, client_id, "alg_not_allowed", ALG_NOT_ALLOWED)


def test_refuses_es256(client, app, jwt_app):
    client_id, _, kid = jwt_app
    assertion = make_assertion(client_id, make_ec_key(), kid, alg="ES256")
    assert_refused(assertion_request(client, assertion), app, client_id, "alg_not_allowed", ALG_NOT_ALLOWED)


@pytest.mark.parametrize("typ", ["oauth-authz-req+jwt", "at+jwt", "dpop+jwt", "JOSE", 5])
def test_refuses_a_jwt_whose_typ_says_it_is_something_else(client, app, jwt_app, typ):
    """RFC 8725 §3.11: a signed authorization request (RFC 9101) can never pass as a client assertion."""
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid, header={"typ": typ}))
    assert_refused(response, app, client_id, "wrong_typ",
                   shape_error("the client_assertion typ must be JWT or client-authentication+jwt"))


def test_refuses_critical_header_parameters(client, app, jwt_app):
    """RFC 7515 §4.1.11: crit extensions must be understood; this server understands none."""
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid, header={"crit": ["exp"]}))
    assert_refused(response, app, client_id, "crit_not_supported",
                   shape_error("the client_assertion crit header parameter is not supported"))


# --- key and signature ---------------------------------------------------------------------------

def test_refuses_an_unknown_kid(client, app, jwt_app):
    client_id, key, _ = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, "no-such-key-id"))
    assert_refused(response, app, client_id, "unknown_kid")


def test_refuses_a_header_alg_other_than_the_keys_registered_alg(client, app, jwt_app):
    """Auth0: alg must equal the alg registered for the key (here RS256, signed PS256 by the same key)."""
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, alg="PS256")),
                   app, client_id, "alg_mismatch")
    assert_refused(assertion_request(client, make_assertion(client_id, key, alg="PS256")),
                   app, client_id, "alg_mismatch")


def test_refuses_a_signature_by_another_key(client, app, jwt_app):
    """RFC 7523 §3 item 9: the signature must verify with a registered key."""
    client_id, _, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, make_rsa_key("stranger"), kid))
    assert_refused(response, app, client_id, "bad_signature")


def test_refuses_a_changed_payload(client, app, jwt_app):
    client_id, key, kid = jwt_app
    header, _, signature = make_assertion(client_id, key, kid).split(".")
    other_payload = make_assertion(client_id, key, kid).split(".")[1]
    assert_refused(assertion_request(client, f"{header}.{other_payload}.{signature}"),
                   app, client_id, "bad_signature")


def test_refuses_an_empty_signature(client, app, jwt_app):
    client_id, key, kid = jwt_app
    header, payload, _ = make_assertion(client_id, key, kid).split(".")
    assert_refused(assertion_request(client, f"{header}.{payload}."), app, client_id, "bad_signature")


def test_refuses_a_key_registered_for_jar(client, app, jwt_app):
    """A key registered for another use (JAR request objects) never verifies a client assertion."""
    client_id, _, _ = jwt_app
    jar_key = make_rsa_key("jar")
    jar_kid = register_key(app, client_id, jar_key, use="jar")["kid"]
    assert_refused(assertion_request(client, make_assertion(client_id, jar_key, jar_kid)),
                   app, client_id, "unknown_kid")
    assert_refused(assertion_request(client, make_assertion(client_id, jar_key)),
                   app, client_id, "bad_signature")


def test_refuses_an_expired_credential_at_once(client, app, jwt_app):
    client_id, key, kid = jwt_app
    assert accepted(client, make_assertion(client_id, key, kid))
    expire_credential(app, client_id, kid)
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid)),
                   app, client_id, "no_current_key")


def test_refuses_the_kid_of_an_expired_key_while_another_is_current(client, app, jwt_app):
    client_id, key, kid = jwt_app
    register_key(app, client_id, make_rsa_key("second"))
    expire_credential(app, client_id, kid)
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid)),
                   app, client_id, "credential_expired")
    assert_refused(assertion_request(client, make_assertion(client_id, key)), app, client_id, "bad_signature")


def test_refuses_an_application_whose_only_key_was_deleted(client, app, jwt_app):
    """The method must be private_key_jwt with at least one current key. The registry refuses to delete
    the last key in use, so the row is removed underneath it, as a database restore or a hand edit would."""
    client_id, key, kid = jwt_app
    with app.app_context():
        application = find_application(client_id)
        with pytest.raises(CredentialError, match="only current private_key_jwt credential"):
            delete_credential(application, application.credentials[0])
        db.session.rollback()
        db.session.execute(db.delete(Credential).where(Credential.client_pk == application.id))
        db.session.commit()
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid)),
                   app, client_id, "no_current_key")


def test_rotation_second_key_works_then_deleting_the_first_stops_it_at_once(client, app, jwt_app):
    client_id, first_key, first_kid = jwt_app
    second_key = make_rsa_key("rotation")
    second_kid = register_key(app, client_id, second_key, alg="PS256")["kid"]
    assert accepted(client, make_assertion(client_id, first_key, first_kid))
    assert accepted(client, make_assertion(client_id, second_key, second_kid, alg="PS256"))

    with app.app_context():
        application = find_application(client_id)
        delete_credential(application, next(c for c in application.credentials if c.kid == first_kid))
        db.session.commit()
    assert_refused(assertion_request(client, make_assertion(client_id, first_key, first_kid)),
                   app, client_id, "unknown_kid")
    assert_refused(assertion_request(client, make_assertion(client_id, first_key)),
                   app, client_id, "alg_mismatch")
    assert accepted(client, make_assertion(client_id, second_key, second_kid, alg="PS256"))


def test_a_renamed_credential_still_verifies(client, app, jwt_app):
    """The parsed-key cache is keyed by (id, updated_at): a change re-reads the key, never a stale one."""
    client_id, key, kid = jwt_app
    assert accepted(client, make_assertion(client_id, key, kid))
    with app.app_context():
        application = find_application(client_id)
        rename_credential(find_credential(application, application.credentials[0].id), "Renamed")
        db.session.commit()
    assert accepted(client, make_assertion(client_id, key, kid))


# --- claims --------------------------------------------------------------------------------------

@pytest.mark.parametrize("iss", ["someone-else", None, 42])
def test_refuses_iss_other_than_the_client_id(client, app, jwt_app, iss):
    """RFC 7523 §3 item 1: iss MUST be the client id."""
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, iss=iss)),
                   app, client_id, "iss_mismatch")


def test_refuses_an_assertion_without_sub(client, app, jwt_app):
    """RFC 7523 §3 item 2: sub MUST be the client id (here the body's client_id named the application)."""
    client_id, key, kid = jwt_app
    response = assertion_request(client, make_assertion(client_id, key, kid, sub=None), client_id=client_id)
    assert_refused(response, app, client_id, "sub_mismatch")


def test_refuses_a_body_client_id_other_than_sub(client, app, jwt_app):
    """RFC 7521 §4.2: a client_id sent with the assertion MUST identify the same client."""
    client_id, key, kid = jwt_app
    other_id, _ = make_app(app)
    response = assertion_request(client, make_assertion(client_id, key, kid), client_id=other_id)
    assert_refused(response, app, client_id, "client_id_mismatch")


@pytest.mark.parametrize("aud", [
    ISSUER.rstrip("/") + TOKEN_URL,       # the token endpoint: not accepted by default
    [ISSUER],                             # an array, even of the issuer alone
    [ISSUER, "https://other.example/"],
    ISSUER.rstrip("/"),                   # no trailing slash
    ISSUER.upper(),                       # other case
    ISSUER + "/",
    "https://other-as.example/",
    None,
])
def test_refuses_aud_other_than_exactly_the_issuer(client, app, jwt_app, aud):
    """RFC 7523 §3 item 3 as Auth0 and draft-ietf-oauth-rfc7523bis narrow it: aud is the issuer string."""
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, aud=aud)),
                   app, client_id, "aud_mismatch")


@pytest.mark.parametrize("exp", [None, "tomorrow", True, float("nan"), float("inf"), 10**400])
def test_refuses_an_assertion_without_a_numeric_exp(client, app, jwt_app, exp):
    """RFC 7523 §3 item 4: exp is required."""
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, exp=exp)),
                   app, client_id, "missing_exp")


def test_refuses_an_expired_assertion(client, app, jwt_app):
    """RFC 7523 §3 item 4: an assertion whose exp has passed is rejected."""
    client_id, key, kid = jwt_app
    now = int(time.time())
    assertion = make_assertion(client_id, key, kid, iat=now - 61, exp=now - 1)
    assert_refused(assertion_request(client, assertion), app, client_id, "expired")


@pytest.mark.parametrize("lifetime_claims", [
    lambda now: {"iat": now, "exp": now + 301},                 # exp - iat just over 5 minutes
    lambda now: {"iat": None, "exp": now + 320},                # exp - now without iat
    lambda now: {"iat": now - 30 * 86400, "exp": now + 60},     # a month-old iat
    lambda now: {"iat": now, "exp": now + 3600},                # Authlib's client default
])
def test_refuses_a_lifetime_over_five_minutes(client, app, jwt_app, lifetime_claims):
    """Auth0: a client assertion lives at most 5 minutes (APPCREDS_ASSERTION_MAX_LIFETIME)."""
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, key, kid, **lifetime_claims(int(time.time())))
    assert_refused(assertion_request(client, assertion), app, client_id, "lifetime_too_long")


def test_refuses_iat_more_than_the_skew_in_the_future(client, app, jwt_app):
    """RFC 7523 §3 item 6, Auth0: iat at most 10 s in the future."""
    client_id, key, kid = jwt_app
    now = int(time.time())
    assertion = make_assertion(client_id, key, kid, iat=now + 30, exp=now + 90)
    assert_refused(assertion_request(client, assertion), app, client_id, "issued_in_future")


def test_refuses_nbf_more_than_the_skew_in_the_future(client, app, jwt_app):
    """RFC 7523 §3 item 5, Auth0: nbf at most 10 s in the future."""
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, key, kid, nbf=int(time.time()) + 30)
    assert_refused(assertion_request(client, assertion), app, client_id, "not_yet_valid")


@pytest.mark.parametrize("claims", [{"iat": "yesterday"}, {"nbf": [1]}, {"iat": -10**400}])
def test_refuses_iat_or_nbf_that_is_not_a_numeric_date(client, app, jwt_app, claims):
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, **claims)),
                   app, client_id, "malformed_claim")


@pytest.mark.parametrize("jti", [None, "", 12345])
def test_refuses_an_assertion_without_a_string_jti(client, app, jwt_app, jti):
    """RFC 7523 §3 item 7: a jti is required (Auth0: one-time use)."""
    client_id, key, kid = jwt_app
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, jti=jti)),
                   app, client_id, "missing_jti")


# --- replay --------------------------------------------------------------------------------------

def test_refuses_a_replayed_assertion(client, app, jwt_app):
    """RFC 7523 §3 item 7: a jti is accepted once per client until its exp has passed."""
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, key, kid)
    assert accepted(client, assertion)
    event = assert_refused(assertion_request(client, assertion), app, client_id, "replayed")
    assert "already used: replay refused" in event.reason


def test_the_same_jti_from_two_applications_is_accepted_for_each(client, app, jwt_app):
    client_id, key, kid = jwt_app
    other_id, other_key, other_kid = make_jwt_app(app, key=make_rsa_key("other-app"))
    assert accepted(client, make_assertion(client_id, key, kid, jti="shared-jti"))
    assert accepted(client, make_assertion(other_id, other_key, other_kid, jti="shared-jti"))


def test_a_refused_assertion_does_not_burn_its_jti(client, app, jwt_app):
    """The jti is recorded only after every other check passed: nobody can burn another client's jti."""
    client_id, key, kid = jwt_app
    forged = make_assertion(client_id, make_rsa_key("stranger"), kid, jti="victim-jti")
    assert_refused(assertion_request(client, forged), app, client_id, "bad_signature")
    wrong_aud = make_assertion(client_id, key, kid, jti="victim-jti", aud="https://other-as.example/")
    assert_refused(assertion_request(client, wrong_aud), app, client_id, "aud_mismatch")
    assert accepted(client, make_assertion(client_id, key, kid, jti="victim-jti"))


def test_a_jti_whose_record_has_expired_may_be_used_again(client, app, jwt_app):
    client_id, key, kid = jwt_app
    with app.app_context():
        assert insert_jti(find_application(client_id).id, "old-jti", utcnow() - dt.timedelta(seconds=1))
    assert accepted(client, make_assertion(client_id, key, kid, jti="old-jti"))
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, jti="old-jti")),
                   app, client_id, "replayed")


def test_purge_removes_only_expired_jti_records(app, jwt_app):
    client_id, _, _ = jwt_app
    now = utcnow()
    with app.app_context():
        client_pk = find_application(client_id).id
        for jti, offset in (("gone-1", -60), ("gone-2", -1), ("kept", 60)):
            assert insert_jti(client_pk, jti, now + dt.timedelta(seconds=offset))
        assert purge_used_assertions() == 2
        assert jti_kept_until(client_pk, "gone-1") == jti_kept_until(client_pk, "gone-2") == "its exp"
        assert jti_kept_until(client_pk, "kept") == f"{now + dt.timedelta(seconds=60):%H:%M:%S} UTC"


def test_the_jti_record_lasts_until_exp_plus_skew(client, app, jwt_app):
    client_id, key, kid = jwt_app
    exp = int(time.time()) + 45
    assert accepted(client, make_assertion(client_id, key, kid, jti="timed", exp=exp))
    with app.app_context():
        expires_at = jti_store(db.engine).expires_at(find_application(client_id).id, "timed")
    assert expires_at == dt.datetime.fromtimestamp(exp + 10, dt.UTC)


# --- with the front door -------------------------------------------------------------------------

def test_refuses_an_assertion_from_an_application_registered_for_a_secret(client, app):
    client_id, _ = make_app(app, method="client_secret_post")
    response = assertion_request(client, make_assertion(client_id, make_rsa_key()))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "method_not_registered"


def test_refuses_a_client_secret_from_a_private_key_jwt_application(client, app):
    client_id, _ = make_app(app, method="client_secret_post")
    register_key(app, client_id, make_rsa_key())
    with app.app_context():
        application = find_application(client_id)
        secret = reveal_client_secret(application)
        set_auth_method(application, "private_key_jwt")
        db.session.commit()
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                            "client_id": client_id, "client_secret": secret})
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "method_not_registered"


def test_refuses_an_unknown_client(client, app):
    response = assertion_request(client, make_assertion("no-such-client", make_rsa_key()))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, "no-such-client").reason_code == "unknown_client"


def test_refuses_a_malformed_assertion_that_names_no_client(client, app):
    response = assertion_request(client, "garbage")
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request",
                             "error_description": "client_id is required with private_key_jwt"}


def test_refuses_an_assertion_in_the_query_string(client, app, jwt_app):
    """RFC 6749 §2.3.1: credentials belong in the body."""
    client_id, key, kid = jwt_app
    assertion = make_assertion(client_id, key, kid)
    response = client.post(f"{TOKEN_URL}?client_assertion={assertion}",
                           data={"grant_type": "client_credentials", "audience": DEMO_API,
                                 "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion})
    assert response.status_code == 400
    assert last_event(app, client_id).reason_code == "credentials_in_query"


def test_metadata_publishes_private_key_jwt_and_its_algorithms(client):
    """RFC 8414 §2: token_endpoint_auth_signing_alg_values_supported once private_key_jwt is offered."""
    metadata = client.get("/.well-known/oauth-authorization-server").json
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "RS384", "PS256"]


# --- accepting the token endpoint as aud (off by default) -----------------------------------------

def test_token_endpoint_aud_is_accepted_only_when_configured_and_logs_a_warning(instance_path, caplog):
    caplog.set_level("WARNING", logger="appcreds.private_key_jwt")
    app = _make_app(instance_path, APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD=True)
    assert "APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD is on" in caplog.text
    client_id, key, kid = make_jwt_app(app)
    client = app.test_client()
    token_endpoint = ISSUER.rstrip("/") + TOKEN_URL
    assert accepted(client, make_assertion(client_id, key, kid, aud=token_endpoint))
    assert accepted(client, make_assertion(client_id, key, kid, aud=ISSUER))
    assert_refused(assertion_request(client, make_assertion(client_id, key, kid, aud=[token_endpoint])),
                   app, client_id, "aud_mismatch")
    with app.app_context():
        db.engine.dispose()


def test_no_warning_by_default(instance_path, caplog):
    caplog.set_level("WARNING", logger="appcreds.private_key_jwt")
    _make_app(instance_path)
    assert "APPCREDS_ASSERTION_ACCEPT_TOKEN_ENDPOINT_AUD" not in caplog.text

