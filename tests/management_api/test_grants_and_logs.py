"""/api/v2/client-grants and /api/v2/logs."""
import base64

import pytest

from tests.factories import DEMO_API, TOKEN_URL, make_app
from tests.management_api.conftest import assert_error
from tests.oauth.flow import (
    authorize_params,
    authorize_url,
    exchange,
    get_code,
    make_user,
    make_web_app,
    refresh,
    sign_in,
)


def test_grant_list_change_and_revoke(api, app, client):
    target, secret = make_app(app, grant=None, name="Needs the demo API")
    created = api.post("/client-grants", json={"client_id": target, "audience": DEMO_API, "scope": ["read:demo"]})
    assert created.status_code == 201, created.json
    grant = created.json
    assert grant["id"].startswith("cgr_") and (grant["client_id"], grant["scope"]) == (target, ["read:demo"])
    basic = base64.b64encode(f"{target}:{secret}".encode()).decode()
    token = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                        headers={"Authorization": f"Basic {basic}"})
    assert token.status_code == 200 and token.json["scope"] == "read:demo"

    listed = api.get(f"/client-grants?client_id={target}").json
    assert listed == [grant]
    assert api.get(f"/client-grants?audience={DEMO_API}&client_id=nobody").json == []
    changed = api.patch(f"/client-grants/{grant['id']}", json={"scope": ["read:demo", "write:demo"]})
    assert changed.status_code == 200 and changed.json["scope"] == ["read:demo", "write:demo"]
    assert api.delete(f"/client-grants/{grant['id']}").status_code == 204
    assert_error(api.get(f"/client-grants/{grant['id']}"), 404)


def test_checkpoint_paging_as_the_sdk_does_it(api, app):
    for index in range(3):
        make_app(app, name=f"Granted {index}")
    first = api.get("/client-grants?take=2&include_totals=true").json
    assert len(first["client_grants"]) == 2 and first["next"]
    rest = api.get(f"/client-grants?take=2&from={first['next']}").json
    assert len(rest["client_grants"]) == 2 and rest["next"] is None  # 3 demo grants + the caller's own


@pytest.mark.parametrize(("body", "status", "fragments"), [
    ({"client_id": "nobody", "audience": DEMO_API}, 404, ["Client not found"]),
    ({"audience": DEMO_API}, 400, ["client_id"]),
    ({"client_id": "x", "audience": "https://elsewhere.example/"}, 404, ["Client not found"]),
])
def test_refuses_bad_grants(api, body, status, fragments):
    assert_error(api.post("/client-grants", json=body), status, *fragments)


def test_refuses_unknown_apis_and_scopes_and_duplicates(api, app):
    target, _ = make_app(app, grant=None)
    assert_error(api.post("/client-grants", json={"client_id": target, "audience": "https://elsewhere.example/"}),
                 400, "audience", "no API")
    assert_error(api.post("/client-grants", json={"client_id": target, "audience": DEMO_API, "scope": ["fly"]}),
                 400, "scope", "fly")
    assert api.post("/client-grants", json={"client_id": target, "audience": DEMO_API}).status_code == 201
    assert_error(api.post("/client-grants", json={"client_id": target, "audience": DEMO_API}), 409, "already exists")


def test_logs_show_attempts_and_changes_newest_first_with_auth0_types(api, app, client, caller):
    target, secret = make_app(app, name="Logged")
    basic = base64.b64encode(f"{target}:{secret}".encode()).decode()
    ok = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                     headers={"Authorization": f"Basic {basic}"})
    bad = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                      headers={"Authorization": "Basic " + base64.b64encode(f"{target}:wrong".encode()).decode()})
    assert (ok.status_code, bad.status_code) == (200, 401)
    api.patch(f"/clients/{target}", json={"name": "Logged again"})

    logs = api.get(f"/logs?client_id={target}&include_totals=true").json
    # Each token request: its client authentication (sce/fce, AppCreds) and its outcome (Auth0's exchange code).
    assert [entry["type"] for entry in logs["logs"]] == ["sapi", "feccft", "fce", "seccft", "sce"]
    assert logs["total"] == 5
    change, failure, authentication = logs["logs"][0], logs["logs"][1], logs["logs"][2]
    assert change["details"]["actor"] == f"application {caller[0]}" and change["client_name"] == "Logged again"
    assert failure["details"]["event"] == "token_request" and failure["details"]["reason_code"] == "invalid_client"
    assert authentication["details"]["reason_code"] == "wrong_secret" and secret not in str(logs)
    assert failure["description"] == authentication["description"]  # the private reason, on both
    assert logs["logs"][3]["details"]["reason_code"] == "issued"
    assert api.get(f"/logs?q=type:fce AND client_id:{target}").json == [authentication]
    assert api.get(f"/logs?q=type:feccft AND client_id:{target}").json == [failure]
    assert api.get(f"/logs?search=type:feccft&client_id={target}").json == [failure]
    assert api.get(f"/logs/{failure['log_id']}").json == failure
    older = api.get(f"/logs?client_id={target}&from={change['log_id']}&take=1").json
    assert older == [failure]
    assert_error(api.get("/logs?q=user:alice"), 400, "user:alice", error_code="invalid_query_string")
    assert_error(api.get("/logs?per_page=101"), 400, "per_page", error_code="invalid_query_string")
    assert_error(api.get("/logs/12345678"), 404)


def test_a_refused_call_is_logged_on_the_callers_tab(api, caller):
    api.post("/clients", json={"name": "x", "colour": "blue"})
    [refusal] = api.get(f"/logs?type=fapi&client_id={caller[0]}").json
    assert refusal["details"]["reason_code"] == "invalid_body" and "colour" in refusal["description"]
    assert refusal["description"].startswith("POST /api/v2/clients refused (400)")


def test_an_end_users_steps_and_each_exchange_have_their_own_types(api, app):
    """s/f for the sign-in, AppCreds' codes for consent and the code, Auth0's exchange codes for
    the token requests (seacft, sertft, fertft), sce for their client authentication."""
    make_user(app)
    client_id, secret = make_web_app(app)
    browser = app.test_client()
    first = browser.get(browser.get(authorize_url(authorize_params(client_id))).headers["Location"])
    sign_in(browser, first.headers["Location"], password="not the password")
    tokens = exchange(browser, client_id, secret, get_code(browser, authorize_params(client_id))["code"]).json
    refresh(browser, client_id, secret, tokens["refresh_token"])
    refresh(browser, client_id, secret, tokens["refresh_token"])  # a replay
    types = [entry["type"] for entry in api.get(f"/logs?client_id={client_id}&sort=date:1").json]
    assert types == ["f", "s", "saci", "sgc", "sce", "seacft", "sce", "sertft", "sce", "fertft"]
    [replay] = api.get(f"/logs?q=type:fertft AND client_id:{client_id}").json
    assert replay["details"]["reason_code"] == "invalid_grant" and "family is revoked" in replay["description"]
    assert [e["type"] for e in api.get(f"/logs?type=s&client_id={client_id}").json] == ["s"]
    assert [e["type"] for e in api.get(f"/logs?type=saci&client_id={client_id}").json] == ["saci"]
