"""client_secret_basic and client_secret_post (RFC 6749 §2.3.1), through the client_credentials grant."""
import base64
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from models import db
from models.applications import find_application, rotate_secret
from models.state import app_state
from tests.factories import DEMO_API, TOKEN_URL, last_event, make_app

GENERIC_FAILURE = {"error": "invalid_client", "error_description": "client authentication failed"}


def basic(client_id, secret, encode=quote_plus):
    """RFC 6749 §2.3.1: each part is form-urlencoded, then the pair is base64-encoded."""
    raw = f"{encode(client_id)}:{encode(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token_request(client, headers=None, **form):
    form.setdefault("grant_type", "client_credentials")
    form.setdefault("audience", DEMO_API)
    return client.post(TOKEN_URL, data=form, headers=headers or {})


@pytest.fixture
def basic_app(app):
    return make_app(app, method="client_secret_basic")


@pytest.fixture
def post_app(app):
    return make_app(app, method="client_secret_post")


def test_accepts_basic(client, app, basic_app):
    client_id, secret = basic_app
    response = token_request(client, basic(client_id, secret))
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"
    event = last_event(app, client_id)
    assert (event.outcome, event.method, event.reason_code) == ("success", "client_secret_basic", "authenticated")


def test_loads_the_application_once_per_request(client, app, basic_app, monkeypatch):
    """The front door loads the application once and hands it to the method's check; nothing loads it again."""
    client_id, secret = basic_app
    snapshots = app_state(app).client_snapshots
    loaded, find = [], snapshots.find
    monkeypatch.setattr(snapshots, "find", lambda wanted: loaded.append(wanted) or find(wanted))
    assert token_request(client, basic(client_id, secret)).status_code == 200
    assert loaded == [client_id]


def test_accepts_basic_with_form_encoded_credentials(client, app):
    """RFC 6749 Appendix B: '+' in the encoded credentials means a space; '%2B' means '+'."""
    client_id, _ = make_app(app)
    with app.app_context():
        application = find_application(client_id)
        application.secret_ciphertext = None
        box = app_state(app).secret_box
        secret = "a b+c%d:e"
        application.secret_ciphertext, application.secret_digest = box.encrypt(secret), box.digest(secret)
        db.session.commit()
    assert token_request(client, basic(client_id, secret)).status_code == 200
    # Without form-encoding, "+" would be read as a space and the secret would not match.
    raw = base64.b64encode(f"{client_id}:a+b+c".encode()).decode()
    assert token_request(client, {"Authorization": "Basic " + raw}).status_code == 401


def test_accepts_post(client, app, post_app):
    client_id, secret = post_app
    response = token_request(client, client_id=client_id, client_secret=secret)
    assert response.status_code == 200
    assert last_event(app, client_id).method == "client_secret_post"


def test_accepts_json_body(client, post_app):
    """Auth0 accepts application/json token requests."""
    client_id, secret = post_app
    response = client.post(TOKEN_URL, json={"grant_type": "client_credentials", "client_id": client_id,
                                            "client_secret": secret, "audience": DEMO_API})
    assert response.status_code == 200


def test_rejects_wrong_secret_with_generic_error(client, app, basic_app):
    client_id, _ = basic_app
    response = token_request(client, basic(client_id, "not-the-secret"))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert last_event(app, client_id).reason_code == "wrong_secret"


def test_unknown_client_gets_the_same_body_as_wrong_secret(client, app, basic_app):
    client_id, _ = basic_app
    wrong_secret = token_request(client, basic(client_id, "nope"))
    unknown = token_request(client, basic("no-such-client", "nope"))
    assert unknown.status_code == wrong_secret.status_code == 401
    assert unknown.get_data() == wrong_secret.get_data()
    assert last_event(app, "no-such-client").reason_code == "unknown_client"


def test_rejects_post_without_www_authenticate(client, app, post_app):
    """RFC 6749 §5.2: WWW-Authenticate only when the client tried the Authorization header."""
    client_id, _ = post_app
    response = token_request(client, client_id=client_id, client_secret="wrong")
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert "WWW-Authenticate" not in response.headers


def test_rejects_basic_for_a_post_application(client, app, post_app):
    client_id, secret = post_app
    response = token_request(client, basic(client_id, secret))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    event = last_event(app, client_id)
    assert (event.reason_code, event.method) == ("method_not_registered", "client_secret_basic")


def test_rejects_post_for_a_basic_application(client, app, basic_app):
    client_id, secret = basic_app
    response = token_request(client, client_id=client_id, client_secret=secret)
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "method_not_registered"


def test_rejects_secret_in_header_and_body(client, app, basic_app):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request."""
    client_id, secret = basic_app
    response = token_request(client, basic(client_id, secret), client_id=client_id, client_secret=secret)
    assert response.status_code == 400
    assert response.json == {
        "error": "invalid_request",
        "error_description": "client authentication must use exactly one mechanism, the request used "
                             "client_secret_basic and client_secret_post",
    }
    assert last_event(app, client_id).reason_code == "multiple_mechanisms"


def test_rejects_secret_and_assertion_together(client, app, post_app):
    client_id, secret = post_app
    response = token_request(client, client_id=client_id, client_secret=secret,
                             client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                             client_assertion="a.b.c")
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")


def test_rejects_credentials_in_query_string(client, app, post_app):
    """RFC 6749 §2.3.1: client credentials MUST NOT be included in the request URI."""
    client_id, secret = post_app
    response = client.post(f"{TOKEN_URL}?client_secret={secret}",
                           data={"grant_type": "client_credentials", "client_id": client_id,
                                 "client_secret": secret, "audience": DEMO_API})
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request", "error_description":
                             "client_secret must be sent in the request body, not the query string"}
    assert last_event(app, client_id).reason_code == "credentials_in_query"


@pytest.mark.parametrize("header", [
    "Basic !!!notbase64",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:secret").decode(),       # not UTF-8
    "Basic " + base64.b64encode(b"id%FF:secret").decode(),          # percent-escape that is not UTF-8
    "Basic " + base64.b64encode(b":secret").decode(),               # empty client id
])
def test_rejects_malformed_basic_header(client, app, header):
    response = token_request(client, {"Authorization": header})
    assert response.status_code == 401
    assert response.json == {"error": "invalid_client", "error_description": "malformed Basic authorization header"}
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert last_event(app).reason_code == "malformed_basic_header"


@pytest.mark.parametrize("header", ["Basic ", "Basic", "Digest username=\"x\", realm=\"appcreds\"", "Bearer abc"])
def test_a_401_after_any_authorization_header_carries_www_authenticate(client, app, header):
    """RFC 6749 §5.2: if the client attempted to authenticate via the Authorization header, the
    401 MUST include WWW-Authenticate (an empty Basic value and another scheme included)."""
    response = token_request(client, {"Authorization": header})
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="appcreds", error="invalid_client"'


def test_rejects_request_without_credentials(client, app):
    response = token_request(client)
    assert response.status_code == 401
    assert response.json == {"error": "invalid_client", "error_description": "client authentication is required"}
    assert last_event(app).reason_code == "no_client_authentication"


def test_rejects_deleted_application(client, app, basic_app):
    client_id, secret = basic_app
    with app.app_context():
        db.session.delete(find_application(client_id))
        db.session.commit()
    response = token_request(client, basic(client_id, secret))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "unknown_client"


def test_rotation_invalidates_the_old_secret_at_once(client, app, basic_app):
    client_id, old_secret = basic_app
    with app.app_context():
        new_secret = rotate_secret(find_application(client_id))
        db.session.commit()
    assert token_request(client, basic(client_id, old_secret)).status_code == 401
    assert token_request(client, basic(client_id, new_secret)).status_code == 200


def test_public_client_cannot_use_client_credentials(client, app):
    """RFC 6749 §4.4: the client credentials grant is for confidential clients only."""
    client_id, secret = make_app(app, method="none", app_type="spa")
    assert secret is None
    response = token_request(client, client_id=client_id)
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "method_not_allowed_here"


def test_body_client_id_must_match_basic_client_id(client, app, basic_app):
    client_id, secret = basic_app
    response = token_request(client, basic(client_id, secret), client_id="someone-else")
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "client_id_mismatch"


def test_secret_is_encrypted_at_rest_and_never_logged(app, basic_app, caplog):
    caplog.set_level("DEBUG")
    client_id, secret = basic_app
    with app.app_context():
        row = db.session.execute(db.text("SELECT secret_ciphertext, secret_digest FROM clients "
                                         "WHERE client_id = :id"), {"id": client_id}).one()
    assert secret not in row.secret_ciphertext and secret not in row.secret_digest
    for database_file in Path(app.instance_path).glob("appcreds.sqlite*"):  # the database and its WAL
        assert secret.encode() not in database_file.read_bytes()
    with app.test_client() as client:
        token_request(client, basic(client_id, secret))
        token_request(client, basic(client_id, secret + "x"))
    assert "wrong_secret" in caplog.text  # the attempts were logged ...
    assert secret not in caplog.text      # ... without the secret
