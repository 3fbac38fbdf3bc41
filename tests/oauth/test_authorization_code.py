"""The authorization-code flow (RFC 6749 §4.1) with PKCE (RFC 7636), through Flask's test client:
/authorize, sign-in, consent, the code at the token endpoint, and every way it can go wrong."""
import hashlib
from datetime import timedelta

import jwt as pyjwt
import pytest
from sqlalchemy import text

from models import AuthorizationCode, Consent, db
from models.applications import find_application, grant_api
from models.authorization import purge_expired_flow_state
from models.timeutil import utcnow
from tests.factories import DEMO_API, ISSUER, events, make_app
from tests.oauth.flow import (
    CALLBACK,
    USER_EMAIL,
    authorize_params,
    authorize_url,
    consent_page,
    decide,
    exchange,
    get_code,
    make_user,
    make_web_app,
    pkce_pair,
    query_of,
    set_callbacks,
    sign_in,
)


@pytest.fixture
def user(app):
    return make_user(app)


@pytest.fixture
def web_app(app):
    """A regular web application with client_secret_basic: (client_id, secret)."""
    return make_web_app(app)


def whoami(client, access_token):
    return client.get("/api/demo/whoami", headers={"Authorization": f"Bearer {access_token}"})


def claims_of(client, access_token):
    jwks = pyjwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json)
    kid = pyjwt.get_unverified_header(access_token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return pyjwt.decode(access_token, key.key, algorithms=["RS256"], audience=DEMO_API, issuer=ISSUER)


# --- the happy path ----------------------------------------------------------------------------

def test_a_confidential_application_gets_tokens_for_a_signed_in_user(client, app, user, web_app):
    client_id, secret = web_app
    verifier, challenge = pkce_pair()
    callback = get_code(client, authorize_params(client_id, challenge))
    # RFC 6749 §4.1.2: code and the exact state; RFC 9207: iss.
    assert callback["state"] == "xyz-state"
    assert callback["iss"] == ISSUER
    response = exchange(client, client_id, secret, callback["code"], verifier)
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "read:demo")
    assert body["refresh_token"]
    claims = claims_of(client, body["access_token"])
    assert claims["sub"] == f"appcreds|{user}"
    assert (claims["client_id"], claims["scope"], claims["aud"]) == (client_id, "read:demo", DEMO_API)
    assert whoami(client, body["access_token"]).json["sub"] == f"appcreds|{user}"


def test_codes_are_stored_only_as_sha256_digests(client, app, user, web_app):
    client_id, _ = web_app
    code = get_code(client, authorize_params(client_id, pkce_pair()[1]))["code"]
    with app.app_context():
        row = db.session.execute(db.select(AuthorizationCode)).scalar_one()
        assert row.code_digest == hashlib.sha256(code.encode()).hexdigest()
        dump = "\n".join(str(r) for r in db.session.execute(text("SELECT * FROM authorization_codes")))
    assert code not in dump


def test_a_public_client_redeems_its_code_with_pkce_alone(client, app, user):
    client_id, secret = make_web_app(app, method="none", callbacks=("http://127.0.0.1:8765/cb",))
    assert secret is None
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, redirect_uri="http://127.0.0.1:8765/cb")
    code = get_code(client, params)["code"]
    response = exchange(client, client_id, None, code, verifier, redirect_uri="http://127.0.0.1:8765/cb")
    assert response.status_code == 200, response.json
    assert events(app, client_id)[0].method == "none"


def test_refuses_a_confidential_client_without_pkce(client, app, user, web_app):
    """RFC 9700 §2.1.1: PKCE against code injection, from confidential clients too; the error goes to
    the verified redirect URI (RFC 6749 §4.1.2.1)."""
    client_id, _ = web_app
    response = client.get(authorize_url(authorize_params(client_id, challenge=None)))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(CALLBACK + "?")
    assert query_of(response.headers["Location"]) == {
        "error": "invalid_request", "state": "xyz-state", "iss": ISSUER,
        "error_description": "code_challenge is required: this application requires PKCE (RFC 7636) "
                             "with code_challenge_method S256"}


def test_a_confidential_client_that_opted_out_may_skip_pkce(client, app, user):
    """The application setting require_pkce=false lets a confidential client leave PKCE out."""
    client_id, secret = make_web_app(app, require_pkce=False)
    code = get_code(client, authorize_params(client_id, challenge=None))["code"]
    assert exchange(client, client_id, secret, code, verifier=None).status_code == 200


def test_a_public_client_needs_pkce_even_when_opted_out(client, app):
    """RFC 7636 §4.4.1, RFC 9700 §2.1.1: require_pkce=false does not apply to public clients."""
    client_id, _ = make_web_app(app, method="none", require_pkce=False)
    response = client.get(authorize_url(authorize_params(client_id, challenge=None)))
    assert query_of(response.headers["Location"])["error_description"] == (
        "code_challenge is required for public clients (PKCE, RFC 7636)")


# --- PKCE (RFC 7636): S256 only, required unless a confidential client opts out ----------------

@pytest.mark.parametrize("pkce, description", [
    ({"code_challenge": "a" * 43, "code_challenge_method": "plain"},
     "code_challenge_method must be S256 (plain is not accepted)"),
    ({"code_challenge": "a" * 43}, "code_challenge_method is required and must be S256"),
    ({"code_challenge_method": "S256"}, "code_challenge_method was sent without code_challenge"),
    ({"code_challenge": "too-short", "code_challenge_method": "S256"},
     "code_challenge must be 43 base64url characters (an S256 challenge)"),
])
def test_refuses_plain_or_malformed_pkce_at_authorize(client, app, user, web_app, pkce, description):
    client_id, _ = web_app
    response = client.get(authorize_url({**authorize_params(client_id, challenge=None), **pkce}))
    assert response.status_code == 302
    assert query_of(response.headers["Location"]) == {
        "error": "invalid_request", "error_description": description, "state": "xyz-state", "iss": ISSUER}


def test_refuses_a_public_client_without_pkce(client, app):
    client_id, _ = make_web_app(app, method="none")
    response = client.get(authorize_url(authorize_params(client_id, challenge=None)))
    assert query_of(response.headers["Location"])["error_description"] == (
        "code_challenge is required for public clients (PKCE, RFC 7636)")


def test_refuses_a_wrong_code_verifier(client, app, user, web_app):
    """RFC 7636 §4.6: a verifier that does not match is invalid_grant."""
    client_id, secret = web_app
    code = get_code(client, authorize_params(client_id, pkce_pair()[1]))["code"]
    response = exchange(client, client_id, secret, code, pkce_pair()[0])
    assert (response.status_code, response.json["error"]) == (400, "invalid_grant")


def test_refuses_a_missing_verifier_when_a_challenge_was_sent(client, app, user, web_app):
    client_id, secret = web_app
    code = get_code(client, authorize_params(client_id, pkce_pair()[1]))["code"]
    response = exchange(client, client_id, secret, code, verifier=None)
    assert response.json == {"error": "invalid_request", "error_description": "Missing 'code_verifier'"}


def test_refuses_a_verifier_when_no_challenge_was_sent(client, app, user):
    """RFC 9700 §4.8.2: a code_verifier without a challenge is refused (PKCE downgrade)."""
    client_id, secret = make_web_app(app, require_pkce=False)
    code = get_code(client, authorize_params(client_id, challenge=None))["code"]
    response = exchange(client, client_id, secret, code, pkce_pair()[0])
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")


# --- the code: one-time, short-lived, bound to client and redirect URI -------------------------

def test_a_replayed_code_is_refused_and_revokes_what_it_issued(client, app, user, web_app):
    """RFC 6749 §4.1.2: a code used twice is denied, and the tokens it issued are revoked."""
    client_id, secret = web_app
    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(client_id, challenge))["code"]
    first = exchange(client, client_id, secret, code, verifier).json
    assert whoami(client, first["access_token"]).status_code == 200

    replay = exchange(client, client_id, secret, code, verifier)
    assert (replay.status_code, replay.json["error"]) == (400, "invalid_grant")
    assert whoami(client, first["access_token"]).status_code == 401
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                  "refresh_token": first["refresh_token"]}, auth=(client_id, secret))
    assert refreshed.json["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_client(client, app, user, web_app):
    client_id, _ = web_app
    other_id, other_secret = make_web_app(app, name="Other app")
    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(client_id, challenge))["code"]
    response = exchange(client, other_id, other_secret, code, verifier)
    assert (response.status_code, response.json["error"]) == (400, "invalid_grant")


def test_a_code_is_bound_to_its_redirect_uri(client, app, user, web_app):
    """RFC 6749 §4.1.3: redirect_uri must be identical to the authorization request's."""
    client_id, secret = web_app
    set_callbacks(app, client_id, [CALLBACK, "https://app.example/other"])
    verifier, challenge = pkce_pair()
    code = get_code(client, authorize_params(client_id, challenge))["code"]
    for redirect_uri in ("https://app.example/other", None):
        response = exchange(client, client_id, secret, code, verifier, redirect_uri=redirect_uri)
        assert (response.status_code, response.json["error"]) == (400, "invalid_grant")
    assert exchange(client, client_id, secret, code, verifier).status_code == 200


def test_an_expired_code_is_refused(client, app, user, web_app):
    client_id, secret = web_app
    code = get_code(client, authorize_params(client_id))["code"]
    with app.app_context():
        row = db.session.execute(db.select(AuthorizationCode)).scalar_one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = exchange(client, client_id, secret, code)
    assert response.json == {"error": "invalid_grant", "error_description": "the authorization code has expired"}


def test_an_application_without_the_code_grant_cannot_redeem_one(client, app, user, web_app):
    client_id, secret = web_app
    m2m_id, m2m_secret = make_app(app)
    code = get_code(client, authorize_params(client_id))["code"]
    response = exchange(client, m2m_id, m2m_secret, code)
    assert (response.status_code, response.json["error"]) == (400, "unauthorized_client")


def test_the_client_authenticates_with_its_own_method_at_the_token_endpoint(client, app, user, web_app):
    client_id, secret = web_app
    code = get_code(client, authorize_params(client_id))["code"]
    response = client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": CALLBACK, "client_id": client_id,
                                                 "client_secret": secret})
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    assert events(app, client_id)[0].reason_code == "method_not_registered"


# --- errors at /authorize: RFC 6749 §4.1.2.1 ----------------------------------------------------

@pytest.mark.parametrize("overrides, error", [
    ({"client_id": "no-such-client"}, "invalid_client"),
    ({"client_id": None}, "invalid_request"),
    ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
    ({"redirect_uri": CALLBACK + "/"}, "invalid_request"),          # exact match, not prefix
    ({"redirect_uri": "HTTPS://app.example/callback"}, "invalid_request"),
])
def test_never_redirects_to_an_unverified_client_or_redirect_uri(client, app, web_app, overrides, error):
    client_id, _ = web_app
    response = client.get(authorize_url({**authorize_params(client_id), **overrides}))
    assert response.status_code == 400
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert f'<code id="oauth-error">{error}</code>' in html
    assert "Traceback" not in html


def test_without_redirect_uri_only_a_single_registered_one_is_used(client, app, user, web_app):
    """RFC 6749 §3.1.2.3: with several registered URIs the request must name one."""
    client_id, secret = web_app
    params = authorize_params(client_id, redirect_uri=None)
    assert get_code(client, params)["state"] == "xyz-state"
    set_callbacks(app, client_id, [CALLBACK, "https://app.example/other"])
    response = client.get(authorize_url(params))
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_repeated_parameter_is_shown_on_the_error_page(client, app, web_app):
    """RFC 6749 §3.1: parameters must not be included more than once."""
    client_id, _ = web_app
    response = client.get(authorize_url(authorize_params(client_id)) + "&redirect_uri=https://evil.example/")
    assert response.status_code == 400 and "Location" not in response.headers
    assert "<p>Parameter redirect_uri is included more than once.</p>" in response.get_data(as_text=True)


@pytest.mark.parametrize("overrides, error, description", [
    ({"response_type": "token"}, "unsupported_response_type", None),
    ({"scope": "delete:everything"}, "invalid_scope",
     "scope delete:everything is not granted to this application for this API"),
    ({"audience": ISSUER + "api/v2/"}, "access_denied", "the application is not granted access to this API"),
    ({"audience": "https://unknown.example/"}, "access_denied", "no API has the identifier https://unknown.example/"),
])
def test_redirects_other_errors_to_the_verified_redirect_uri(client, app, web_app, overrides, error, description):
    client_id, _ = web_app
    response = client.get(authorize_url({**authorize_params(client_id), **overrides}))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    query = query_of(location)
    assert (query["error"], query["state"], query["iss"]) == (error, "xyz-state", ISSUER)
    if description:
        assert query["error_description"] == description


def test_an_application_without_the_code_grant_is_unauthorized_client(client, app, web_app):
    client_id, _ = make_web_app(app, grant_types=("client_credentials",), name="M2M with callback")
    response = client.get(authorize_url(authorize_params(client_id)))
    assert query_of(response.headers["Location"])["error"] == "unauthorized_client"


# --- sign-in ----------------------------------------------------------------------------------

def test_an_anonymous_visitor_is_sent_to_the_end_user_sign_in_page(client, app, web_app):
    client_id, _ = web_app
    response = client.get(authorize_url(authorize_params(client_id)))
    assert response.headers["Location"].startswith("/authorize/continue?tx=")
    login = client.get(response.headers["Location"])
    assert login.headers["Location"].startswith("/account/login?tx=")
    page = client.get(login.headers["Location"]).get_data(as_text=True)
    assert "to continue to <strong>Photo app</strong>" in page


def test_administrators_cannot_sign_in_to_applications(client, app, web_app):
    client_id, _ = web_app
    response = client.get(client.get(authorize_url(authorize_params(client_id))).headers["Location"])
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    refused = sign_in(client, response.headers["Location"], ADMIN_EMAIL, ADMIN_PASSWORD)
    assert refused.status_code == 400
    assert "Administrator accounts sign in to the dashboard, not to applications." in refused.get_data(as_text=True)


def test_a_wrong_password_is_refused(client, app, user, web_app):
    client_id, _ = web_app
    response = client.get(client.get(authorize_url(authorize_params(client_id))).headers["Location"])
    refused = sign_in(client, response.headers["Location"], USER_EMAIL, "not the password")
    assert refused.status_code == 400 and "Wrong email or password." in refused.get_data(as_text=True)


@pytest.mark.parametrize("method, path", [("GET", "/account/no-such-page"), ("POST", "/account"),
                                          ("GET", "/authorize/no-such-step")])
def test_error_pages_for_end_users_lead_back_to_their_account_never_to_the_dashboard(client, app, user, method,
                                                                                     path):
    """Issue 10: people who sign in to applications are not administrators; the dashboard is no way back."""
    sign_in(client, "/account/login")
    response = client.open(path, method=method)
    html = response.get_data(as_text=True)
    assert response.status_code in (404, 405)
    assert 'href="/account"' in html
    assert 'href="/"' not in html and "Back to applications" not in html


def test_the_authorization_error_page_leads_to_the_account_page(client, app):
    html = client.get(authorize_url({"response_type": "code", "client_id": "nobody"})).get_data(as_text=True)
    assert 'id="oauth-error"' in html and 'href="/account"' in html and 'href="/"' not in html


def test_error_pages_of_the_dashboard_still_lead_to_the_dashboard(client, app):
    html = client.get("/applications/no-such-app/no-such-page").get_data(as_text=True)
    assert 'href="/">Back to applications</a>' in html


def test_an_end_user_session_does_not_open_the_dashboard(client, app, user):
    assert sign_in(client, "/account/login").headers["Location"] == "/account"
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_sign_in_form_needs_its_csrf_token(client, app, user):
    response = client.post("/account/login", data={"email": USER_EMAIL, "password": "alice's long password"})
    assert response.status_code == 400
    assert client.get("/account").headers["Location"] == "/account/login"


# --- consent ----------------------------------------------------------------------------------

def test_the_consent_page_names_the_application_and_the_scopes(client, app, user, web_app):
    client_id, _ = web_app
    response = consent_page(client, authorize_params(client_id, scope="read:demo write:demo"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<span class="app-name">Photo app</span> wants access to your account' in html
    assert "<code>read:demo</code>: Read demo data" in html
    assert "<code>write:demo</code>: Change demo data" in html
    assert "Demo API" in html and USER_EMAIL in html
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_denying_sends_access_denied_with_the_state(client, app, user, web_app):
    client_id, _ = web_app
    response = decide(client, consent_page(client, authorize_params(client_id)), allow=False)
    assert query_of(response.headers["Location"]) == {
        "error": "access_denied", "error_description": "the user denied the request", "state": "xyz-state",
        "iss": ISSUER}


def test_consent_is_remembered_per_user_and_application(client, app, user, web_app):
    client_id, _ = web_app
    get_code(client, authorize_params(client_id))
    # The same scopes again: no consent page, straight back with a code.
    response = consent_page(client, authorize_params(client_id))
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    # A wider scope asks again.
    wider = consent_page(client, authorize_params(client_id, scope="read:demo write:demo"))
    assert wider.status_code == 200 and "<code>write:demo</code>" in wider.get_data(as_text=True)
    # Another application asks for itself.
    other_id, _ = make_web_app(app, name="Other app")
    assert consent_page(client, authorize_params(other_id)).status_code == 200


def test_consent_for_one_api_does_not_cover_another_api_asked_for_with_no_scopes(client, app, user, web_app):
    """A request with an empty scope for an API the user never allowed still shows the consent page
    (issue 10, vulnerability 1): an empty set of scopes is covered by nothing but a consent to that API."""
    client_id, _ = web_app
    management_api = ISSUER + "api/v2/"
    with app.app_context():
        grant_api(find_application(client_id), management_api, [])
        db.session.commit()
    get_code(client, authorize_params(client_id))
    response = consent_page(client, authorize_params(client_id, audience=management_api, scope=""))
    assert response.status_code == 200
    assert "wants access to your account" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(Consent.scopes)).scalar_one() == {DEMO_API: ["read:demo"]}
        assert db.session.execute(db.select(AuthorizationCode.audience)).scalars().all() == [DEMO_API]
    # Once allowed, the API with no scopes is remembered like any other.
    assert "code" in query_of(decide(client, response).headers["Location"])
    again = consent_page(client, authorize_params(client_id, audience=management_api, scope=""))
    assert again.status_code == 302 and "code=" in again.headers["Location"]


def test_prompt_consent_shows_the_consent_page_even_when_consent_was_given(client, app, user, web_app):
    """OpenID Connect Core §3.1.2.1: prompt=consent asks the user again (issue 10: never ignored)."""
    client_id, _ = web_app
    get_code(client, authorize_params(client_id))
    response = consent_page(client, authorize_params(client_id, prompt="consent"))
    assert response.status_code == 200 and "wants access to your account" in response.get_data(as_text=True)
    assert "code" in query_of(decide(client, response).headers["Location"])


def test_prompt_login_asks_a_signed_in_user_to_sign_in_again(client, app, user, web_app):
    """OpenID Connect Core §3.1.2.1: prompt=login re-authenticates, even with a live session."""
    import time

    client_id, _ = web_app
    get_code(client, authorize_params(client_id))
    time.sleep(1.01)  # auth_time has whole seconds: a sign-in in the request's own second counts as fresh
    started = client.get(authorize_url(authorize_params(client_id, prompt="login")))
    resumed = client.get(started.headers["Location"])
    assert resumed.status_code == 302 and "/account/login?tx=" in resumed.headers["Location"]
    # Coming back without signing in again changes nothing.
    assert "/account/login" in client.get(started.headers["Location"]).headers["Location"]
    signed_in = sign_in(client, resumed.headers["Location"])
    finished = client.get(signed_in.headers["Location"])
    assert finished.status_code == 302 and "code=" in finished.headers["Location"]


@pytest.mark.parametrize("prompt", ["none", "select_account", "login none"])
def test_an_unsupported_prompt_is_refused_not_ignored(client, app, user, web_app, prompt):
    """Issue 10: a prompt AppCreds cannot honour goes back as invalid_request (RFC 6749 §4.1.2.1)."""
    client_id, _ = web_app
    response = client.get(authorize_url(authorize_params(client_id, prompt=prompt)))
    assert response.status_code == 302
    callback = query_of(response.headers["Location"])
    assert (callback["error"], callback["state"]) == ("invalid_request", "xyz-state")
    assert "is not supported; use login or consent" in callback["error_description"]


def test_withdrawing_consent_revokes_tokens_and_asks_again(client, app, user, web_app):
    client_id, secret = web_app
    tokens = exchange(client, client_id, secret, get_code(client, authorize_params(client_id))["code"]).json
    account = client.get("/account")
    html = account.get_data(as_text=True)
    assert "Photo app" in html and "<code>read:demo</code>" in html
    with app.app_context():
        consent_id = db.session.execute(db.select(Consent.id)).scalar_one()
    from tests.conftest import csrf_token_from

    response = client.post(f"/account/consents/{consent_id}/withdraw", data={"csrf_token": csrf_token_from(html)})
    assert response.headers["Location"] == "/account"
    assert "no longer has your consent" in client.get("/account").get_data(as_text=True)
    assert whoami(client, tokens["access_token"]).status_code == 401
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                  "refresh_token": tokens["refresh_token"]}, auth=(client_id, secret))
    assert refreshed.json["error"] == "invalid_grant"
    assert consent_page(client, authorize_params(client_id)).status_code == 200


def test_withdrawing_consent_stops_the_codes_and_access_tokens_of_an_application_without_refresh(client, app,
                                                                                                 user):
    """Issue 10, vulnerability 4: without the refresh grant, the access token from a redeemed code
    and a code not yet redeemed are all the application holds; withdrawing consent stops both."""
    client_id, secret = make_web_app(app, grant_types=("authorization_code",))
    tokens = exchange(client, client_id, secret, get_code(client, authorize_params(client_id))["code"]).json
    assert "refresh_token" not in tokens and whoami(client, tokens["access_token"]).status_code == 200
    unredeemed = get_code(client, authorize_params(client_id))["code"]  # consent remembered: no page
    with app.app_context():
        consent_id = db.session.execute(db.select(Consent.id)).scalar_one()
    from tests.conftest import csrf_token_from

    html = client.get("/account").get_data(as_text=True)
    client.post(f"/account/consents/{consent_id}/withdraw", data={"csrf_token": csrf_token_from(html)})
    assert whoami(client, tokens["access_token"]).status_code == 401
    introspected = client.post("/oauth/introspect", data={"token": tokens["access_token"]}, auth=(client_id, secret))
    assert introspected.json == {"active": False}
    response = exchange(client, client_id, secret, unredeemed)
    assert (response.status_code, response.json["error"]) == (400, "invalid_grant")


def test_a_redeemed_code_is_kept_while_its_access_token_lives(client, app, user, web_app):
    """Withdrawing consent finds the access token through the code, so the purge keeps the code until then."""
    client_id, secret = web_app
    exchange(client, client_id, secret, get_code(client, authorize_params(client_id))["code"])
    with app.app_context():
        long_ago = utcnow() - timedelta(hours=1)
        db.session.execute(db.update(AuthorizationCode).values(expires_at=long_ago))
        db.session.commit()
        purge_expired_flow_state()
        db.session.commit()
        assert db.session.execute(db.select(AuthorizationCode)).scalar_one().access_token_jti
        db.session.execute(db.update(AuthorizationCode).values(access_token_expires_at=utcnow()))
        purge_expired_flow_state()
        db.session.commit()
        assert db.session.execute(db.select(AuthorizationCode)).first() is None


def test_a_consent_can_only_be_withdrawn_by_its_user(client, app, user, web_app):
    client_id, _ = web_app
    get_code(client, authorize_params(client_id))
    with app.app_context():
        consent_id = db.session.execute(db.select(Consent.id)).scalar_one()
    other = app.test_client()
    make_user(app, "bob@example.com", "bob's long password")
    sign_in(other, "/account/login", "bob@example.com", "bob's long password")
    from tests.conftest import csrf_token_from

    token = csrf_token_from(other.get("/account").get_data(as_text=True))
    other.post(f"/account/consents/{consent_id}/withdraw", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Consent, consent_id) is not None


def test_the_consent_form_needs_its_csrf_token(client, app, user, web_app):
    client_id, _ = web_app
    page = consent_page(client, authorize_params(client_id)).get_data(as_text=True)
    import re

    tx = re.search(r'name="tx" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/authorize/consent", data={"tx": tx, "allow": "1"})
    assert response.status_code == 400 and "Location" not in response.headers
    with app.app_context():
        assert db.session.execute(db.select(AuthorizationCode)).first() is None


def test_a_transaction_is_completed_once_and_only_in_its_own_browser(client, app, user, web_app):
    client_id, _ = web_app
    consent = consent_page(client, authorize_params(client_id))
    # Another browser with a session of its own cannot use the transaction link.
    other = app.test_client()
    sign_in(other, "/account/login")
    tx_link = client.get(authorize_url(authorize_params(client_id))).headers["Location"]
    assert other.get(tx_link).status_code == 400
    first = decide(client, consent)
    assert first.status_code == 302 and "code=" in first.headers["Location"]
    again = decide(client, consent)
    assert again.status_code == 400 and "Location" not in again.headers


@pytest.mark.parametrize("name, value", [
    ("response_type", 'co"de'), ("redirect_uri", 'https://app.example/"callback'), ("audience", 'x"y\\'),
    ("scope", 'read:demo "quoted"'), ("state", 'anything "goes" in state, even é'),
])
def test_odd_characters_never_cause_a_server_error(client, app, user, web_app, name, value):
    """RFC 6749 §5.2 limits error_description to printable ASCII without quote or backslash; a
    parameter quoted in a description must not make the error itself fail (a 500)."""
    client_id, _ = web_app
    response = client.get(authorize_url({**authorize_params(client_id), name: value}))
    assert response.status_code in (302, 400)
    if response.status_code == 302 and "error=" in response.headers["Location"]:
        assert query_of(response.headers["Location"])["error"] in ("access_denied", "invalid_scope")


def test_odd_characters_in_audience_or_scope_are_a_400_at_the_token_endpoint(client, app):
    client_id, secret = make_app(app)
    for data in ({"audience": 'a"b'}, {"audience": DEMO_API, "scope": 'x"y\\'}):
        response = client.post("/oauth/token", data={"grant_type": "client_credentials", **data},
                               auth=(client_id, secret))
        assert response.status_code == 400 and response.json["error"] in ("access_denied", "invalid_scope")


@pytest.mark.parametrize("overrides, sentence", [
    ({"client_id": "no-such-client"}, "No application has this client_id."),
    ({"client_id": None}, "client_id is required."),
    ({"redirect_uri": "https://evil.example/callback"},
     "Redirect URI https://evil.example/callback is not supported by client."),
])
def test_the_error_page_says_each_problem_as_a_sentence(client, app, web_app, overrides, sentence):
    """Our descriptions (RFC 6749 §5.2 style, lowercase) and Authlib's (sentences) read alike on the page."""
    client_id, _ = web_app
    html = client.get(authorize_url({**authorize_params(client_id), **overrides})).get_data(as_text=True)
    assert f"<p>{sentence}</p>" in html
