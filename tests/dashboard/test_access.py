"""Who may use the dashboard: administrators only; every change needs a CSRF token."""
import time

import pytest

from models import User, db
from models.applications import find_application
from models.client_secrets import check_client_secret
from tests.conftest import csrf_token_from
from tests.dashboard.conftest import load, url

PAGES = ["", "settings", "credentials", "apis", "logs", "delete", "credentials/rotate"]


@pytest.fixture
def non_admin(app):
    with app.app_context():
        user = User(email="viewer@example.com", is_admin=False)
        user.set_password("another long password")
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in_as(client, user_id):
    """A session for `user_id`, as Flask-Login keeps it (the sign-in form refuses non-admins)."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        now = int(time.time())
        session["appcreds_dashboard"] = {"generation": 0, "signed_in_at": now, "seen_at": now}


def test_anonymous_visitor_is_sent_to_sign_in_with_a_local_next(client, confidential_app):
    client_id, _ = confidential_app
    response = client.get(url(client_id, "credentials"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/applications/{client_id}/credentials"


def test_signing_in_returns_to_the_page_asked_for(client, confidential_app):
    client_id, _ = confidential_app
    target = url(client_id, "logs")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(f"/login?next={target}", data={
        "email": "admin@example.com", "password": "correct horse battery staple", "csrf_token": token})
    assert response.headers["Location"] == target
    assert client.get(target).status_code == 200


def test_anonymous_list_is_refused(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_anonymous_post_with_a_valid_token_changes_nothing(client, app, confidential_app):
    client_id, secret = confidential_app
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(url(client_id, "credentials/rotate"), data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with app.app_context():
        assert check_client_secret(find_application(client_id), secret)  # not rotated


@pytest.mark.parametrize("page", PAGES)
def test_non_admin_is_refused_everywhere(client, non_admin, confidential_app, page):
    client_id, _ = confidential_app
    sign_in_as(client, non_admin)
    response = client.get(url(client_id, page))
    assert response.status_code == 403
    assert "administrators only" in response.get_data(as_text=True)


def test_non_admin_cannot_see_the_list_or_create(client, non_admin):
    sign_in_as(client, non_admin)
    assert client.get("/").status_code == 403
    assert client.get("/applications/new").status_code == 403


def test_non_admin_cannot_reveal(client, app, non_admin, confidential_app):
    client_id, secret = confidential_app
    sign_in_as(client, non_admin)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(url(client_id, "credentials/reveal"), data={"csrf_token": token})
    assert response.status_code == 403
    assert secret not in response.get_data(as_text=True)


def test_admin_demoted_after_sign_in_is_refused(client, app, dashboard):
    assert client.get("/").status_code == 200
    with app.app_context():
        db.session.execute(db.update(User).values(is_admin=False))
        db.session.commit()
    assert client.get("/").status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_unknown_application_is_404(client, dashboard, page):
    response = client.get(url("no-such-client", page))
    assert response.status_code == 404
    assert "No application has this client ID" in response.get_data(as_text=True)


@pytest.mark.parametrize("tab", ["credentials/reveal", "credentials/rotate", "credentials/method", "delete",
                                 "settings", "apis"])
def test_unknown_application_post_is_404(client, dashboard, tab):
    response = dashboard.post(url("no-such-client", tab), page="/")
    assert response.status_code == 404


@pytest.mark.parametrize("tab, data", [
    ("credentials/rotate", {}),
    ("credentials/reveal", {}),
    ("credentials/method", {"token_endpoint_auth_method": "client_secret_post"}),
    ("settings", {"name": "Renamed", "app_type": "non_interactive", "grant_types": "client_credentials"}),
    ("delete", {"confirm_name": "Billing backend"}),
    ("apis", {}),
])
def test_post_without_csrf_token_is_400_and_changes_nothing(client, app, dashboard, confidential_app, tab, data):
    client_id, secret = confidential_app
    before = load(app, client_id)
    response = client.post(url(client_id, tab), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was changed" in html
    assert secret not in html
    after = load(app, client_id)
    assert after is not None
    assert (after.name, after.token_endpoint_auth_method, after.secret_digest, [g.audience for g in after.grants]) \
        == (before.name, before.token_endpoint_auth_method, before.secret_digest, [g.audience for g in before.grants])


def test_post_with_a_wrong_csrf_token_is_400(client, app, dashboard):
    response = client.post("/applications/new", data={"name": "X", "app_type": "non_interactive",
                                                      "csrf_token": "forged"})
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True).count("<tr>") == 0


def test_create_without_csrf_token_stores_nothing(client, app, dashboard):
    response = client.post("/applications/new", data={"name": "Sneaky", "app_type": "non_interactive",
                                                      "token_endpoint_auth_method": "client_secret_basic"})
    assert response.status_code == 400
    assert "Sneaky" not in client.get("/").get_data(as_text=True)
