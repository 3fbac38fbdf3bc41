"""The Logs tab: this application's authentication attempts and credential actions, newest first."""
import re
from datetime import timedelta

import pytest

from models import AuthEvent, Consent, db
from models.applications import find_application
from models.timeutil import utcnow
from tests.conftest import csrf_token_from
from tests.dashboard.conftest import basic, token_with_basic, token_with_post, url
from tests.factories import DEMO_API, TOKEN_URL, make_app
from tests.oauth.flow import (
    USER_EMAIL,
    authorize_params,
    authorize_url,
    exchange,
    get_code,
    make_user,
    make_web_app,
    refresh,
    sign_in,
)


def logs_page(client, client_id, **query):
    response = client.get(url(client_id, "logs"), query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def add_events(app, client_id, count):
    """`count` successful attempts, one second apart, numbered in source_ip order of age."""
    with app.app_context():
        application = find_application(client_id)
        start = utcnow() - timedelta(hours=1)
        db.session.add_all(AuthEvent(
            created_at=start + timedelta(seconds=n), client_id_sent=client_id, client_pk=application.id,
            endpoint="token", method="client_secret_basic", outcome="success", reason_code="authenticated",
            reason="authenticated", source_ip=f"10.0.{n // 250}.{n % 250}") for n in range(count))
        db.session.commit()


def test_lists_a_failed_attempt_with_its_reason(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    assert token_with_basic(client, client_id, "not-the-secret").status_code == 401
    html = logs_page(client, client_id)
    assert "client_authentication" in html and ">failure<" in html
    assert "wrong_secret" in html and "the client secret does not match the current secret" in html
    assert "client_secret_basic" in html and "127.0.0.1" in html and ">token<" in html
    assert 'aria-current="page">Logs</a>' in html


def test_lists_a_wrong_method_attempt(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    assert token_with_post(client, client_id, secret).status_code == 401
    html = logs_page(client, client_id)
    assert "method_not_registered" in html
    assert "the application authenticates with client_secret_basic, the request used client_secret_post" in html


def test_shows_only_this_applications_events_newest_first(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    other_id, other_secret = make_app(app, name="Other")
    token_with_basic(client, other_id, "wrong")
    token_with_basic(client, client_id, "wrong")
    token_with_basic(client, client_id, secret)
    html = logs_page(client, client_id)
    assert other_id not in html
    assert html.index(">authenticated<") < html.index(">wrong_secret<")


def test_lists_dashboard_actions_with_their_actor(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"))
    html = logs_page(client, client_id)
    assert "secret_revealed" in html and "admin@example.com" in html and ">dashboard<" in html


def test_shows_utc_times(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    token_with_basic(client, client_id, "wrong")
    html = logs_page(client, client_id)
    assert "Time (UTC)" in html
    assert f'{utcnow().strftime("%Y-%m-%d")}<br>' in html
    assert re.search(r"<br>\d\d:\d\d:\d\d</td>", html)


def test_paginates_fifty_per_page(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    add_events(app, client_id, 60)
    first = logs_page(client, client_id)
    assert first.count("<tr>") == 51  # header row + 50
    assert "10.0.0.59" in first and "10.0.0.10" in first and "10.0.0.9<" not in first
    assert "Page 1 of 2" in first and "Older" in first
    second = logs_page(client, client_id, page=2)
    assert second.count("<tr>") == 11 and "10.0.0.0<" in second and "Newer" in second


@pytest.mark.parametrize("page", ["abc", "0", "-3", "99", str(10 ** 30)])
def test_odd_page_numbers_never_fail(client, dashboard, app, confidential_app, page):
    client_id, _ = confidential_app
    add_events(app, client_id, 3)
    html = logs_page(client, client_id, page=page)
    assert "10.0.0.2" in html or "No entries on this page" in html


def test_says_when_there_is_nothing_yet(client, dashboard, confidential_app):
    assert "Nothing yet" in logs_page(client, confidential_app[0])


@pytest.mark.parametrize("app_config", [{"APPCREDS_EVENT_FLUSH_SECONDS": 300}])
def test_shows_events_still_buffered_in_this_process(client, dashboard, app, confidential_app):
    """Events are written in batches; the Logs tab writes this process's batch before reading."""
    client_id, _ = confidential_app
    token_with_basic(client, client_id, "wrong")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuthEvent)) == 0
    assert "wrong_secret" in logs_page(client, client_id)


@pytest.mark.parametrize("app_config", [{"APPCREDS_EVENT_FLUSH_SECONDS": 300}])
@pytest.mark.parametrize("attempt_first", [True, False])
def test_buffered_attempts_and_dashboard_actions_are_all_kept(client, dashboard, app, confidential_app,
                                                              attempt_first):
    """Dashboard rows (with an actor) and client-auth rows (without) are written in separate batches."""
    client_id, _ = confidential_app
    if attempt_first:
        token_with_basic(client, client_id, "wrong before")
    dashboard.post(url(client_id, "credentials/reveal"), page=url(client_id, "credentials"))
    token_with_post(client, client_id, "wrong after")
    html = logs_page(client, client_id)
    assert html.count("<td>client_authentication</td>") == (2 if attempt_first else 1)
    assert "secret_revealed" in html and "method_not_registered" in html
    assert "<td>admin@example.com</td>" in html


def test_filters_by_outcome_method_event_and_time(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    assert token_with_basic(client, client_id, "not-the-secret").status_code == 401
    assert token_with_post(client, client_id, secret).status_code == 401
    assert token_with_basic(client, client_id, secret).status_code == 200
    failures = logs_page(client, client_id, outcome="failure")
    assert "wrong_secret" in failures and "method_not_registered" in failures and 'outcome-success">' not in failures
    assert '<option value="failure" selected>failure</option>' in failures
    by_method = logs_page(client, client_id, method="client_secret_post")
    assert "method_not_registered" in by_method and "wrong_secret" not in by_method
    future = logs_page(client, client_id, since="2999-01-01")
    assert "No entry matches these filters." in future and "Clear filters" in future
    past = logs_page(client, client_id, until="2000-01-01 00:00", event_type="client_authentication")
    assert "No entry matches these filters." in past


def test_a_bad_time_in_the_filter_is_a_field_error(client, dashboard, confidential_app):
    response = client.get(url(confidential_app[0], "logs"), query_string={"since": "yesterday"})
    assert response.status_code == 400
    assert "is not a time: write it as YYYY-MM-DD HH:MM (UTC)" in response.get_data(as_text=True)


def test_pages_keep_the_filters(client, dashboard, app, confidential_app):
    client_id, _ = confidential_app
    add_events(app, client_id, 60)
    html = logs_page(client, client_id, outcome="success")
    assert re.search(r'href="[^"]*page=2[^"]*outcome=success|href="[^"]*outcome=success[^"]*page=2', html)


# --- a token request's outcome, beside its client authentication (issue 11 item 4) ---------------

@pytest.mark.parametrize(("body", "error", "reason"), [
    ({}, "invalid_request", "audience is required: name the API the token is for"),
    ({"audience": "https://elsewhere.example/"}, "access_denied",
     "no API has the identifier https://elsewhere.example/"),
    ({"audience": DEMO_API, "scope": "fly"}, "invalid_scope",
     "scope fly is not granted to this application for this API"),
])
def test_shows_why_a_token_request_was_refused_after_authentication(client, dashboard, app, confidential_app,
                                                                     body, error, reason):
    client_id, secret = confidential_app
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", **body},
                           headers=basic(client_id, secret))
    assert response.json["error"] == error
    html = logs_page(client, client_id)
    assert "<td>token_request</td>" in html and f"<code>{error}</code><br>{reason}" in html
    # The client authentication succeeded, and says so beside it.
    assert "<td>client_authentication</td>" in html and ">authenticated<" in html
    assert html.index("<td>token_request</td>") < html.index("<td>client_authentication</td>")  # newer first


def test_shows_an_api_the_application_is_not_granted(client, dashboard, app):
    client_id, secret = make_app(app, grant=None, name="Ungranted")
    assert token_with_basic(client, client_id, secret).json["error"] == "access_denied"
    html = logs_page(client, client_id, event_type="token_request")
    assert "<code>access_denied</code><br>the application is not granted access to this API" in html


def test_shows_an_issued_token_and_a_refused_client(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    assert token_with_basic(client, client_id, secret).status_code == 200
    assert token_with_basic(client, client_id, "wrong").status_code == 401
    issued = logs_page(client, client_id, event_type="token_request", outcome="success")
    assert f"<code>issued</code><br>issued an access token for {DEMO_API} with scope read:demo" in issued
    refused = logs_page(client, client_id, event_type="token_request", outcome="failure")
    assert "<code>invalid_client</code><br>the client secret does not match the current secret" in refused
    with app.app_context():
        [row] = db.session.execute(db.select(AuthEvent).where(AuthEvent.event_type == "token_request",
                                                              AuthEvent.outcome == "success")).scalars()
        assert (row.endpoint, row.grant_type, row.method) == ("token", "client_credentials", "client_secret_basic")


def test_shows_an_end_users_whole_authorization(client, dashboard, app):
    """Sign-in (failed, then good), consent given, the code issued and redeemed, a refresh-token
    replay that revoked its family, a denial, and a withdrawn consent: each on the Logs tab."""
    make_user(app)
    client_id, secret = make_web_app(app)
    browser = app.test_client()  # the end user's browser, apart from the administrator's
    first = browser.get(browser.get(authorize_url(authorize_params(client_id))).headers["Location"])
    assert sign_in(browser, first.headers["Location"], password="not the password").status_code == 400
    code = get_code(browser, authorize_params(client_id))["code"]
    tokens = exchange(browser, client_id, secret, code).json
    assert refresh(browser, client_id, secret, tokens["refresh_token"]).status_code == 200
    replay = refresh(browser, client_id, secret, tokens["refresh_token"])
    assert replay.json["error"] == "invalid_grant"
    html = logs_page(client, client_id)
    for event_type, reason_code, reason in [
        ("user_login", "wrong_credentials", "wrong email or password"),
        ("user_login", "signed_in", "the end user signed in"),
        ("consent_given", "consent_given", f"the end user allowed read:demo for {DEMO_API}"),
        ("code_issued", "code_issued", f"an authorization code for {DEMO_API} with scope read:demo"),
        ("token_request", "issued", "authorization code redeemed: issued an access token and a refresh token"),
        ("token_request", "issued", "refresh token rotated: issued an access token and a refresh token"),
        ("token_request", "invalid_grant", "the refresh token was already used; every token of its family is revoked"),
    ]:
        assert f"<td>{event_type}</td>" in html and f"<code>{reason_code}</code><br>{reason}" in html, reason
    assert f"<td>{USER_EMAIL}</td>" in html  # the person is the actor of their own steps

    denied = get_code(browser, authorize_params(client_id, prompt="consent"), allow=False)
    assert denied["error"] == "access_denied"
    account = browser.get("/account").get_data(as_text=True)
    with app.app_context():
        consent_id = db.session.execute(db.select(Consent.id)).scalar_one()
    browser.post(f"/account/consents/{consent_id}/withdraw", data={"csrf_token": csrf_token_from(account)})
    html = logs_page(client, client_id)
    assert "<td>consent_denied</td>" in html and "the end user denied the request" in html
    assert "<td>consent_withdrawn</td>" in html and "the tokens the application held for them were revoked" in html
