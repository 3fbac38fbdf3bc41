"""Refresh tokens (RFC 6749 §6): rotation, family revocation on reuse, scope, and the RFC 8705 §3
certificate binding issue 4 asked for once the code flow exists."""
import hashlib

import jwt as pyjwt
import pytest
from sqlalchemy import text

from models import RefreshToken, db
from models.applications import find_application, revoke_api_grant
from tests.certificates import self_signed_certificate
from tests.factories import DEMO_API, events
from tests.oauth.flow import authorize_params, exchange, get_code, make_user, make_web_app, pkce_pair, refresh

EDGE_SECRET = "edge-secret-for-tests"


@pytest.fixture
def app_config():
    return {"APPCREDS_EDGE_SECRET": EDGE_SECRET}


@pytest.fixture
def web_app(app):
    make_user(app)
    return make_web_app(app)


def tokens_for(client, client_id, secret, scope="read:demo", headers=None):
    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(client_id, challenge, scope=scope))["code"]
    response = exchange(client, client_id, secret, code, verifier, headers=headers or {})
    assert response.status_code == 200, response.json
    return response.json


def whoami(client, access_token):
    return client.get("/api/demo/whoami", headers={"Authorization": f"Bearer {access_token}"})


def edge_headers(certificate):
    return {"cname-api-key": EDGE_SECRET, "client-certificate-ca-verified": "NONE",
            "client-certificate": certificate.header_value}


def test_each_refresh_rotates_the_refresh_token(client, app, web_app):
    client_id, secret = web_app
    first = tokens_for(client, client_id, secret)
    second = refresh(client, client_id, secret, first["refresh_token"])
    assert second.status_code == 200, second.json
    assert second.json["refresh_token"] != first["refresh_token"]
    assert second.json["scope"] == "read:demo"
    assert whoami(client, second.json["access_token"]).status_code == 200
    third = refresh(client, client_id, secret, second.json["refresh_token"])
    assert third.status_code == 200
    assert events(app, client_id)[0].endpoint == "token"


def test_refresh_tokens_are_stored_only_as_sha256_digests(client, app, web_app):
    client_id, secret = web_app
    value = tokens_for(client, client_id, secret)["refresh_token"]
    with app.app_context():
        row = db.session.execute(db.select(RefreshToken)).scalar_one()
        assert row.token_digest == hashlib.sha256(value.encode()).hexdigest()
        dump = "\n".join(str(r) for r in db.session.execute(text("SELECT * FROM refresh_tokens")))
    assert value not in dump


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, app, web_app):
    """OAuth 2.0 Security BCP §4.14.2: reuse means two holders; revoke every token of the family."""
    client_id, secret = web_app
    first = tokens_for(client, client_id, secret)
    second = refresh(client, client_id, secret, first["refresh_token"]).json

    reuse = refresh(client, client_id, secret, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json == {"error": "invalid_grant", "error_description":
                          "the refresh token was already used; every token of its family is revoked"}
    # The legitimate-looking newest token dies too, and so do the access tokens issued with the family.
    assert refresh(client, client_id, secret, second["refresh_token"]).json["error"] == "invalid_grant"
    assert whoami(client, second["access_token"]).status_code == 401
    assert whoami(client, first["access_token"]).status_code == 401


def test_another_family_survives_a_reuse(client, app, web_app):
    client_id, secret = web_app
    victim = tokens_for(client, client_id, secret)
    bystander = tokens_for(client, client_id, secret)
    refresh(client, client_id, secret, victim["refresh_token"])
    refresh(client, client_id, secret, victim["refresh_token"])
    assert refresh(client, client_id, secret, bystander["refresh_token"]).status_code == 200


def test_a_refresh_token_is_bound_to_its_client(client, app, web_app):
    client_id, secret = web_app
    other_id, other_secret = make_web_app(app, name="Other app")
    value = tokens_for(client, client_id, secret)["refresh_token"]
    assert refresh(client, other_id, other_secret, value).json["error"] == "invalid_grant"
    assert refresh(client, client_id, secret, value).status_code == 200  # not burnt by the other client


def test_the_scope_may_narrow_but_never_widen(client, app, web_app):
    """RFC 6749 §6: no scope beyond what was granted; the new refresh token keeps the original scope."""
    client_id, secret = web_app
    first = tokens_for(client, client_id, secret, scope="read:demo write:demo")
    narrowed = refresh(client, client_id, secret, first["refresh_token"], scope="read:demo").json
    assert narrowed["scope"] == "read:demo"
    full = refresh(client, client_id, secret, narrowed["refresh_token"]).json
    assert full["scope"] == "read:demo write:demo"
    wider = refresh(client, client_id, secret, full["refresh_token"], scope="read:demo write:demo admin")
    assert (wider.status_code, wider.json["error"]) == (400, "invalid_scope")


def test_a_revoked_api_grant_stops_refreshing(client, app, web_app):
    client_id, secret = web_app
    value = tokens_for(client, client_id, secret)["refresh_token"]
    with app.app_context():
        revoke_api_grant(find_application(client_id), DEMO_API)
        db.session.commit()
    assert refresh(client, client_id, secret, value).json == {
        "error": "invalid_grant", "error_description": "the application is no longer granted this API"}


def test_a_public_client_refreshes_with_its_client_id(client, app):
    make_user(app)
    client_id, _ = make_web_app(app, method="none")
    first = tokens_for(client, client_id, None)
    assert refresh(client, client_id, None, first["refresh_token"]).status_code == 200


def test_an_application_without_the_refresh_grant_gets_no_refresh_token(client, app):
    make_user(app)
    client_id, secret = make_web_app(app, grant_types=("authorization_code",))
    assert "refresh_token" not in tokens_for(client, client_id, secret)


def test_unknown_or_missing_refresh_tokens_are_refused(client, app, web_app):
    client_id, secret = web_app
    assert refresh(client, client_id, secret, "nonsense").json["error"] == "invalid_grant"
    missing = client.post("/oauth/token", data={"grant_type": "refresh_token"}, auth=(client_id, secret))
    assert missing.json == {"error": "invalid_request", "error_description": "refresh_token is required"}


# --- RFC 8705 §3: bound refresh tokens (issue 4) --------------------------------------------------

def test_a_refresh_token_issued_over_mtls_is_bound_to_that_certificate(client, app, web_app):
    client_id, secret = web_app
    certificate, other = self_signed_certificate("app-cert"), self_signed_certificate("other-cert")
    first = tokens_for(client, client_id, secret, headers=edge_headers(certificate))
    cnf = pyjwt.decode(first["access_token"], options={"verify_signature": False})["cnf"]
    assert cnf == {"x5t#S256": certificate.thumbprint}

    without = refresh(client, client_id, secret, first["refresh_token"])
    assert without.json["error"] == "invalid_grant"
    with_other = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                   "refresh_token": first["refresh_token"]},
                             auth=(client_id, secret), headers=edge_headers(other))
    assert with_other.json == {"error": "invalid_grant", "error_description":
                               "the refresh token is bound to a client certificate; present that certificate"}
    same = client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                       auth=(client_id, secret), headers=edge_headers(certificate))
    assert same.status_code == 200, same.json
    assert pyjwt.decode(same.json["access_token"], options={"verify_signature": False})["cnf"] == cnf
