"""Rate limits (blueprints/rate_limits.py): 429 with Retry-After, JSON on protocol endpoints and a
page on HTML ones, every refusal in the event log; failures only count for client authentication."""
import pytest

from tests.conftest import ADMIN_EMAIL, csrf_token_from
from tests.factories import DEMO_API, TOKEN_URL, events, make_app
from tests.oauth.flow import CALLBACK, authorize_params, authorize_url, make_web_app, pkce_pair

VERIFIER, CHALLENGE = pkce_pair()


@pytest.fixture
def app_config():
    return {"APPCREDS_RATELIMIT_CLIENT_FAILURES": "3/minute", "APPCREDS_RATELIMIT_CLIENT_ID_FAILURES": "6/minute",
            "APPCREDS_RATELIMIT_SOURCE_FAILURES": "9/minute", "APPCREDS_RATELIMIT_SIGN_IN_ACCOUNT": "2/minute",
            "APPCREDS_RATELIMIT_SIGN_IN_SOURCE": "4/minute", "APPCREDS_RATELIMIT_AUTHORIZE": "2/minute",
            "APPCREDS_RATELIMIT_PAR": "2/minute"}


def token(client, client_id, secret, peer="192.0.2.1"):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                       auth=(client_id, secret), environ_base={"REMOTE_ADDR": peer})


def assert_json_429(response):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Cache-Control"] == "no-store"


def rate_limited_events(app, client_id=None):
    return [e for e in events(app, client_id) if e.reason_code == "rate_limited"]


def test_failed_client_authentications_lock_out_that_client_from_that_source(client, app):
    client_id, secret = make_app(app)
    assert [token(client, client_id, "wrong").status_code for _ in range(3)] == [401, 401, 401]
    refused = token(client, client_id, secret)  # even the right secret: no guessing past the limit
    assert_json_429(refused)
    assert rate_limited_events(app, client_id)[0].source_ip == "192.0.2.1"
    # Lock-out is not a denial of service: the application, elsewhere, still gets tokens.
    assert token(client, client_id, secret, peer="192.0.2.2").status_code == 200


def test_successful_token_requests_are_not_counted(client, app):
    client_id, secret = make_app(app)
    assert {token(client, client_id, secret).status_code for _ in range(12)} == {200}


def test_per_client_id_and_per_source_limits_are_looser(client, app):
    client_id, secret = make_app(app)
    for peer in ("192.0.2.1", "192.0.2.2"):
        for _ in range(3):
            token(client, client_id, "wrong", peer=peer)
    assert_json_429(token(client, client_id, secret, peer="192.0.2.3"))  # 6 failures for this client id
    other_id, other_secret = make_app(app, name="Other")
    for _ in range(3):
        token(client, f"unknown-{_}", "x", peer="192.0.2.9")
        token(client, f"unknown-{_}b", "x", peer="192.0.2.9")
        token(client, f"unknown-{_}c", "x", peer="192.0.2.9")
    assert_json_429(token(client, other_id, other_secret, peer="192.0.2.9"))  # 9 failures from this source


WRONG_PASSWORD = "not the password"


def sign_in_attempt(client, path, email, password=WRONG_PASSWORD):
    html = client.get(path).get_data(as_text=True)
    return client.post(path, data={"email": email, "password": password, "csrf_token": csrf_token_from(html)})


@pytest.mark.parametrize("path", ["/login", "/account/login"])
def test_sign_in_is_limited_per_account_and_source_before_any_hash(client, app, path):
    assert [sign_in_attempt(client, path, ADMIN_EMAIL).status_code for _ in range(2)] == [400, 400]
    refused = sign_in_attempt(client, path, ADMIN_EMAIL, password="correct horse battery staple")
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Content-Security-Policy" in refused.headers
    # Another account from the same source may still try, up to the source's own limit (4: the
    # refused attempt counted too).
    assert sign_in_attempt(client, path, "someone@example.com").status_code == 400
    assert sign_in_attempt(client, path, "third@example.com").status_code == 429
    assert [e.endpoint for e in rate_limited_events(app)] == [
        "dashboard_sign_in" if path == "/login" else "sign_in"] * 2


def test_authorize_transactions_are_limited_per_source(client, app):
    client_id, _ = make_web_app(app, method="none")
    url = authorize_url(authorize_params(client_id, CHALLENGE))
    assert [client.get(url).status_code for _ in range(2)] == [302, 302]
    refused = client.get(url)
    assert refused.status_code == 429 and refused.mimetype == "text/html" and "Retry-After" in refused.headers
    assert rate_limited_events(app, client_id)[0].endpoint == "authorize"


def test_pushed_requests_are_limited_per_client_and_source(client, app):
    client_id, _ = make_web_app(app, method="none")
    data = {"client_id": client_id, "response_type": "code", "redirect_uri": CALLBACK, "scope": "read:demo",
            "audience": DEMO_API, "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    assert [client.post("/oauth/par", data=data).status_code for _ in range(2)] == [201, 201]
    assert_json_429(client.post("/oauth/par", data=data))
    assert rate_limited_events(app, client_id)[0].endpoint == "par"


def test_pushed_requests_in_json_are_counted_per_client_too(client, app):
    client_id, _ = make_web_app(app, method="none")
    other_id, _ = make_web_app(app, method="none", name="Other")
    data = {"client_id": client_id, "response_type": "code", "redirect_uri": CALLBACK, "scope": "read:demo",
            "audience": DEMO_API, "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    assert [client.post("/oauth/par", json=data).status_code for _ in range(2)] == [201, 201]
    assert client.post("/oauth/par", json={**data, "client_id": other_id}).status_code == 201
    assert_json_429(client.post("/oauth/par", json=data))
    # A body the limiter cannot read is answered by the endpoint, never a 500.
    response = client.post("/oauth/par", data="[" * 50000, content_type="application/json")
    assert response.status_code != 500


def test_the_limiter_runs_on_limited_paths_only(client, app):
    """Flask-Limiter's three hooks are wrapped (rate_limits.skip_limiter_hooks_on_unlimited_paths):
    a token request never reaches them, a pushed request (which has a limit) does."""
    from flask import request
    from flask.globals import request_ctx

    from blueprints.rate_limits import limiter

    hooks = [*app.before_request_funcs[None], *app.after_request_funcs[None], *app.teardown_request_funcs[None]]
    raw = [hook for hook in hooks if getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())]
    assert raw == []  # every one of them was found and wrapped
    assert len([hook for hook in hooks if getattr(hook, "__wrapped__", None) is not None
                and (getattr(hook.__wrapped__, "__self__", None) is limiter
                     or limiter in getattr(hook.__wrapped__, "args", ()))]) == 3

    client_id, secret = make_app(app)
    seen = {}

    @app.teardown_request
    def note_limiter_context(_error=None):  # Flask-Limiter keeps its per-request state on the request context
        seen[request.path] = hasattr(request_ctx._get_current_object(), "_limiter_request_context")

    assert token(client, client_id, secret).status_code == 200
    client.post("/oauth/par", data={"client_id": client_id, "response_type": "code"}, auth=(client_id, secret))
    assert seen == {TOKEN_URL: False, "/oauth/par": True}
