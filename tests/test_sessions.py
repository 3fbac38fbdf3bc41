"""Browser sessions (blueprints/auth/session_policy.py, blueprints/authorize/session.py):
ended on the server at sign-out, rotated at sign-in, bounded in time, one cookie per audience."""
import time

import pytest

from tests.conftest import _make_app, csrf_token_from
from tests.oauth.flow import make_user, sign_in

DASHBOARD_COOKIE, END_USER_COOKIE = "session", "session_end_user"


def sign_out(client, path="/logout", page="/"):
    token = csrf_token_from(client.get(page, follow_redirects=True).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def test_a_copied_dashboard_cookie_no_longer_opens_the_dashboard_after_sign_out(client, dashboard):
    """Issue 10 item 3: Flask's cookie session replayed after /logout must not open the dashboard."""
    copied = client.get_cookie(DASHBOARD_COOKIE).value
    assert client.get("/").status_code == 200
    assert sign_out(client).status_code == 302
    client.set_cookie(DASHBOARD_COOKIE, copied)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signing_in_again_after_sign_out_works(client, dashboard):
    sign_out(client)
    assert dashboard.login().status_code == 302
    assert client.get("/").status_code == 200


def test_sign_in_starts_a_new_session(client, dashboard):
    """Nothing from before sign-in survives it (session fixation): the CSRF token is a new one."""
    sign_out(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    dashboard.login()
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


@pytest.mark.parametrize("field, age", [("seen_at", 31 * 60), ("signed_in_at", 13 * 3600)])
def test_a_dashboard_session_ends_when_idle_or_too_old(client, dashboard, field, age):
    with client.session_transaction() as session:
        data = dict(session["appcreds_dashboard"])
        data[field] = int(time.time()) - age
        if field == "signed_in_at":
            data["seen_at"] = int(time.time())
        session["appcreds_dashboard"] = data
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_session_cookies_are_http_only_and_same_site_lax(client):
    header = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_session_cookies_are_secure_behind_an_https_issuer(instance_path):
    app = _make_app(instance_path, APPCREDS_ISSUER="https://auth.example/")
    header = app.test_client().get("/login", base_url="https://auth.example").headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_administrators_and_end_users_have_separate_cookies(client, app, dashboard):
    make_user(app)
    assert client.get_cookie(END_USER_COOKIE) is None
    assert client.get("/account").status_code == 302  # the dashboard session signs nobody in here
    assert sign_in(client, "/account/login").status_code == 302
    assert client.get_cookie(END_USER_COOKIE) is not None
    assert client.get("/account").status_code == 200
    assert client.get("/").status_code == 200  # and the dashboard session is untouched


def test_a_copied_end_user_cookie_is_signed_out_too(client, app):
    make_user(app)
    sign_in(client, "/account/login")
    copied = client.get_cookie(END_USER_COOKIE).value
    assert sign_out(client, "/account/logout", "/account").status_code == 302
    client.set_cookie(END_USER_COOKIE, copied)
    assert client.get("/account").status_code == 302
