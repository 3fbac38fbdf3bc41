"""Issue 10 item 5: a crafted client_id must not write a line of its own into the server log."""
import base64

import pytest
from flask import request

from tests.factories import TOKEN_URL

FORGED = "client_authentication success client_id=admin-app method=client_secret_basic endpoint=token reason=ok"


def logged_lines(caplog) -> list[str]:
    return [line for record in caplog.records for line in record.getMessage().splitlines()]


@pytest.mark.parametrize("how", ["body", "basic"])
def test_a_client_id_with_a_line_break_stays_on_one_log_line(client, caplog, how):
    caplog.set_level("INFO", logger="appcreds.events")
    crafted = "nobody\n" + FORGED
    if how == "body":
        client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": crafted,
                                     "client_secret": "x"})
    else:  # RFC 6749 §2.3.1: form-encoded inside Basic, so %0A decodes to a line break
        raw = base64.b64encode(b"nobody%0A" + FORGED.replace(" ", "+").encode() + b":x").decode()
        client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic " + raw})
    lines = logged_lines(caplog)
    assert lines, "the attempt was not logged"
    assert not any(line.startswith(FORGED) for line in lines)
    assert any("client_id=nobody\\n" + FORGED.split(" ")[0] in line for line in lines)


def test_an_unexpected_error_logs_the_path_escaped(app, client, caplog):
    @app.before_request
    def boom():
        if request.path.startswith("/boom/"):
            raise RuntimeError("boom")

    caplog.set_level("ERROR", logger="appcreds")
    assert client.get("/boom/x%0Aforged").status_code == 500
    assert "unhandled error on GET /boom/x\\nforged" in caplog.text


def test_a_rate_limit_key_is_logged_escaped(instance_path, caplog):
    """Flask-Limiter logs the key of a limit it enforces: the sign-in form's email is part of it."""
    from tests.conftest import _make_app, csrf_token_from

    client = _make_app(instance_path, APPCREDS_RATELIMIT_SIGN_IN_ACCOUNT="1/minute").test_client()
    caplog.set_level("INFO")
    for _ in range(2):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"email": "a@b.c\n" + FORGED, "password": "x", "csrf_token": token})
    assert "ratelimit" in caplog.text
    assert not any(line.startswith(FORGED) for line in logged_lines(caplog))


def test_a_token_issued_writes_no_info_line_and_a_refusal_does(app, client, caplog):
    """One INFO line per token would cost the hot path more than its event: successes log at DEBUG."""
    from tests.factories import DEMO_API, make_app

    caplog.set_level("INFO", logger="appcreds.events")
    client_id, secret = make_app(app)
    form = {"grant_type": "client_credentials", "audience": DEMO_API}
    assert client.post(TOKEN_URL, data=form, auth=(client_id, secret)).status_code == 200
    assert not [line for line in logged_lines(caplog) if client_id in line]
    assert client.post(TOKEN_URL, data=form, auth=(client_id, "wrong")).status_code == 401
    assert any(line.startswith(f"client_authentication failure client_id={client_id}")
               for line in logged_lines(caplog))
    caplog.clear()
    caplog.set_level("DEBUG", logger="appcreds.events")
    assert client.post(TOKEN_URL, data=form, auth=(client_id, secret)).status_code == 200
    assert any(line.startswith(f"client_authentication success client_id={client_id}")
               for line in logged_lines(caplog))
