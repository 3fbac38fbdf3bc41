"""Issue 10 item 6: unauthenticated requests cannot fill the database with pending transactions
or pushed requests (blueprints/oauth/request_resolution.py check_room_for, check_parameter_lengths)."""
import pytest

from models import PendingAuthorization, PushedRequest, db
from tests.factories import DEMO_API, last_event
from tests.oauth.flow import CALLBACK, authorize_params, authorize_url, make_web_app, pkce_pair, query_of

VERIFIER, CHALLENGE = pkce_pair()


@pytest.fixture
def app_config():
    return {"APPCREDS_MAX_PENDING_PER_CLIENT": 3, "APPCREDS_MAX_PUSHED_PER_CLIENT": 2}


@pytest.fixture
def public_app(app):
    client_id, _ = make_web_app(app, method="none")
    return client_id


def rows(app, model):
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def push(client, client_id, **overrides):
    data = {"client_id": client_id, "response_type": "code", "redirect_uri": CALLBACK, "scope": "read:demo",
            "audience": DEMO_API, "code_challenge": CHALLENGE, "code_challenge_method": "S256", **overrides}
    return client.post("/oauth/par", data=data)


def test_pending_authorizations_per_application_are_capped(client, app, public_app):
    params = authorize_params(public_app, CHALLENGE)
    for _ in range(3):
        assert client.get(authorize_url(params)).status_code == 302
    refused = client.get(authorize_url(params))
    # RFC 6749 §4.1.2.1: the client and redirect URI are verified, so the error goes back to the application.
    assert refused.status_code == 302 and refused.headers["Location"].startswith(CALLBACK)
    assert query_of(refused.headers["Location"])["error"] == "temporarily_unavailable"
    assert rows(app, PendingAuthorization) == 3
    event = last_event(app, public_app)
    assert (event.endpoint, event.outcome, event.reason_code) == ("authorize", "failure", "too_many_pending")


def test_pushed_requests_per_application_are_capped(client, app, public_app):
    for _ in range(2):
        assert push(client, public_app).status_code == 201
    refused = push(client, public_app)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.json["error"] == "temporarily_unavailable"
    assert rows(app, PushedRequest) == 2
    assert last_event(app, public_app).reason_code == "too_many_pending"


def test_a_huge_parameter_is_refused_before_anything_is_stored(client, app, public_app):
    """One unauthenticated push once stored a 60 KB row."""
    refused = push(client, public_app, state="x" * 60000)
    assert refused.status_code == 400
    assert refused.json == {"error": "invalid_request", "error_description": "state exceeds 2048 characters"}
    assert rows(app, PushedRequest) == 0
    response = client.get(authorize_url(authorize_params(public_app, CHALLENGE, state="x" * 3000)))
    assert rows(app, PendingAuthorization) == 0
    # Shown on a page: sending a huge value back to the application would not help it.
    assert response.status_code == 400 and "<p>state exceeds 2048 characters.</p>" in response.get_data(as_text=True)
