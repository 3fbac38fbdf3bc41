"""Helpers for the authorization-code flow tests: users, web applications, PKCE, and a browser
walk through /authorize -> sign-in -> consent -> callback with Flask's test client."""
import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from models import User, db
from models.applications import find_application, update_application
from tests.conftest import csrf_token_from
from tests.factories import DEMO_API, TOKEN_URL, make_app

CALLBACK = "https://app.example/callback"
USER_EMAIL = "alice@example.com"
USER_PASSWORD = "alice's long password"


def make_user(app, email=USER_EMAIL, password=USER_PASSWORD, admin=False) -> int:
    with app.app_context():
        user = User(email=email, is_admin=admin)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


def make_web_app(app, method="client_secret_basic", callbacks=(CALLBACK,), scopes=("read:demo", "write:demo"),
                 grant_types=("authorization_code", "refresh_token"), name="Photo app", grant=DEMO_API, **settings):
    """A regular web application (or a SPA with method="none") for the code flow: (client_id, secret)."""
    app_type = "spa" if method == "none" else "regular_web"
    client_id, secret = make_app(app, method=method, app_type=app_type, scopes=scopes, name=name, grant=grant,
                                 grant_types=list(grant_types), callback_urls=list(callbacks))
    if settings:
        with app.app_context():
            client = find_application(client_id)
            for name, value in settings.items():
                setattr(client, name, value)
            db.session.commit()
    return client_id, secret


def set_callbacks(app, client_id, callbacks):
    with app.app_context():
        update_application(find_application(client_id), callback_urls=list(callbacks))
        db.session.commit()


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# AppCreds requires PKCE from every application unless it opts out (RFC 9700 §2.1.1), so the
# helpers send this pair unless a test passes challenge=None / verifier=None (or its own pair).
DEFAULT_VERIFIER, DEFAULT_CHALLENGE = pkce_pair()


def authorize_params(client_id, challenge=DEFAULT_CHALLENGE, **overrides) -> dict:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK, "scope": "read:demo",
              "state": "xyz-state", "audience": DEMO_API}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize_url(params: dict) -> str:
    """/authorize with these parameters; a value of None leaves the parameter out."""
    return "/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(client, location, email=USER_EMAIL, password=USER_PASSWORD):
    """Post the sign-in form found at `location`; returns the response."""
    page = client.get(location)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(location, data={"email": email, "password": password,
                                       "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def consent_page(client, params, sign_in_first=True):
    """GET /authorize, sign in if asked, and return the consent page response (or whatever came)."""
    response = client.get(authorize_url(params))
    if response.status_code != 302:
        return response
    response = client.get(response.headers["Location"])
    if response.status_code == 302 and "/account/login" in response.headers["Location"] and sign_in_first:
        response = sign_in(client, response.headers["Location"])
        assert response.status_code == 302, response.get_data(as_text=True)
        response = client.get(response.headers["Location"])
    return response


def decide(client, consent_response, allow=True):
    html = consent_response.get_data(as_text=True)
    tx = re.search(r'name="tx" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="tx" name="tx" type="hidden" value="([^"]+)"', html)
    assert tx, "the consent page has no transaction field"
    data = {"tx": tx.group(1), "csrf_token": csrf_token_from(html), ("allow" if allow else "deny"): "1"}
    return client.post("/authorize/consent", data=data)


def get_code(client, params, allow=True) -> dict:
    """Walk the whole browser part; returns the callback's query parameters (code, state, iss...)."""
    response = consent_page(client, params)
    if response.status_code == 200 and "wants access to your account" in response.get_data(as_text=True):
        response = decide(client, response, allow=allow)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(params.get("redirect_uri", CALLBACK)), location
    return query_of(location)


def exchange(client, client_id, secret, code, verifier=DEFAULT_VERIFIER, redirect_uri=CALLBACK, headers=None,
             **extra):
    data = {"grant_type": "authorization_code", "code": code, **extra}
    if redirect_uri:
        data["redirect_uri"] = redirect_uri
    if verifier:
        data["code_verifier"] = verifier
    if secret is None:
        data["client_id"] = client_id
        return client.post(TOKEN_URL, data=data, headers=headers or {})
    return client.post(TOKEN_URL, data=data, auth=(client_id, secret), headers=headers or {})


def refresh(client, client_id, secret, refresh_token, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    if secret is None:
        return client.post(TOKEN_URL, data={**data, "client_id": client_id})
    return client.post(TOKEN_URL, data=data, auth=(client_id, secret))

