"""/api/v2/clients: Auth0's shapes, defaults by type, all-or-nothing changes, the secret's rules."""
import pytest

from models import Client, db
from models.applications import find_application
from models.client_secrets import check_client_secret
from tests.factories import DEMO_API, events, make_app
from tests.management_api.conftest import MANAGEMENT_API, Api, assert_error, token_for


def test_creates_a_machine_to_machine_application_and_returns_its_secret_once(api, app):
    response = api.post("/clients", json={"name": "Nightly job", "app_type": "non_interactive"})
    assert response.status_code == 201, response.json
    created = response.json
    assert created["grant_types"] == ["client_credentials"]
    assert created["token_endpoint_auth_method"] == "client_secret_basic"
    assert created["client_authentication_methods"] is None
    assert created["signed_request_object"] == {"required": False, "credentials": []}
    assert len(created["client_secret"]) >= 43
    with app.app_context():
        assert check_client_secret(find_application(created["client_id"]), created["client_secret"])


@pytest.mark.parametrize(("app_type", "grant_types"), [
    ("regular_web", ["authorization_code", "refresh_token", "client_credentials"]),
    ("spa", ["authorization_code", "refresh_token"]),
    ("native", ["authorization_code", "refresh_token"]),
    ("non_interactive", ["client_credentials"]),
])
def test_a_new_application_gets_the_grant_types_its_type_needs(api, app_type, grant_types):
    """Auth0 sets grant types by application type when the request names none."""
    method = "none" if app_type in ("spa", "native") else "client_secret_post"
    response = api.post("/clients", json={"name": "Typed", "app_type": app_type,
                                          "token_endpoint_auth_method": method})
    assert response.status_code == 201, response.json
    assert response.json["grant_types"] == grant_types


def test_get_list_and_fields(api, caller):
    for index in range(3):
        api.post("/clients", json={"name": f"App {index}"})
    page = api.get("/clients?page=1&per_page=2&include_totals=true").json
    assert (page["start"], page["limit"], page["total"], page["length"]) == (2, 2, 4, 2)
    assert [c["name"] for c in page["clients"]] == ["App 1", "App 2"]
    assert api.get("/clients?page=9&per_page=2&include_totals=true").json["clients"] == []  # past the end: empty
    bare = api.get("/clients").json
    assert isinstance(bare, list) and len(bare) == 4
    only = api.get(f"/clients/{caller[0]}?fields=client_id,name").json
    assert only == {"client_id": caller[0], "name": "Deploy pipeline"}
    without = api.get(f"/clients/{caller[0]}?fields=client_secret&include_fields=false").json
    assert "client_secret" not in without and without["name"] == "Deploy pipeline"


def test_the_secret_is_shown_only_to_a_caller_with_read_client_keys(app, client, caller, api):
    target, secret = make_app(app, name="Billing")
    assert api.get(f"/clients/{target}").json["client_secret"] == secret
    reader = Api(client, token_for(client, *caller, scopes=["read:clients"]))
    assert "client_secret" not in reader.get(f"/clients/{target}").json


def test_patch_changes_what_is_sent_and_records_it_with_the_caller(api, app, caller):
    target, _ = make_app(app, app_type="regular_web", name="Shop")
    response = api.patch(f"/clients/{target}", json={
        "name": "Shop 2", "callbacks": ["https://shop.example/cb"], "grant_types": ["authorization_code"],
        "require_pushed_authorization_requests": True, "par_request_expiry": 90, "description": None})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["name"], body["callbacks"], body["grant_types"], body["par_request_expiry"]) == (
        "Shop 2", ["https://shop.example/cb"], ["authorization_code"], 90)
    assert body["require_pushed_authorization_requests"] is True and body["description"] == ""
    change = next(e for e in events(app, target) if e.event_type == "settings_changed")
    assert (change.endpoint, change.actor) == ("management_api", f"application {caller[0]}")
    assert "callbacks" in change.reason


def test_a_refused_patch_changes_nothing(api, app):
    target, _ = make_app(app, name="Stays")
    response = api.patch(f"/clients/{target}", json={"name": "Renamed", "callbacks": ["not a url"]})
    assert_error(response, 400, "callbacks", "not an absolute URL", error_code="invalid_body")
    assert api.get(f"/clients/{target}").json["name"] == "Stays"


@pytest.mark.parametrize(("body", "fragments"), [
    ({"name": "x", "colour": "blue"}, ["Additional properties not allowed", "colour"]),
    ({"name": 5}, ["'name'"]),
    ({"name": ""}, ["'name'"]),
    ({}, ["Missing required property", "name"]),
    ({"name": "x", "par_request_expiry": 5}, ["par_request_expiry"]),
    ({"name": "x", "par_request_expiry": 601}, ["par_request_expiry"]),
    ({"name": "x", "require_proof_of_possession": "yes"}, ["require_proof_of_possession"]),
    ({"name": "x", "grant_types": ["implicit"]}, ["grant_types[0]"]),
    ({"name": "x", "token_endpoint_auth_method": "private_key_jwt"}, ["token_endpoint_auth_method"]),
    ({"name": "x", "app_type": "non_interactive", "token_endpoint_auth_method": "none"},
     ["token_endpoint_auth_method", "machine-to-machine"]),
    ({"name": "x", "client_authentication_methods": {}}, ["client_authentication_methods", "exactly one"]),
    ({"name": "x", "callbacks": ["http://evil.example/cb"]}, ["callbacks", "https"]),
])
def test_refuses_bad_input_naming_the_property_and_stores_nothing(api, app, body, fragments):
    assert_error(api.post("/clients", json=body), 400, *fragments)
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Client)).scalar_one() == 1  # the caller


@pytest.mark.parametrize("raw", [b"[1, 2]", b"null", b"\"text\"", b"{", b""])
def test_refuses_a_body_that_is_not_a_json_object(api, raw):
    response = api.post("/clients", data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "JSON object")


@pytest.mark.parametrize("raw", [b"[" * 50_000, b'{"name":' * 8_000])
def test_deeply_nested_json_is_a_400_not_a_server_error(api, raw):
    """Issue 10, vulnerability 7: nesting deep enough to exhaust a recursive parser is a bad body."""
    response = api.post("/clients", data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "JSON object")
    patched = api.patch("/clients/anything", data=raw, headers={"Content-Type": "application/json"})
    assert patched.status_code in (400, 404) and patched.json["statusCode"] == patched.status_code


def test_refuses_a_body_that_is_not_json(api):
    response = api.post("/clients", data="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 400, "application/json")


def test_a_body_over_the_size_limit_is_413(api):
    response = api.post("/clients", json={"name": "x", "description": "a" * 70_000})
    assert_error(response, 413, error_code="payload_too_large")


def test_both_methods_at_once_is_400(api, app):
    target, _ = make_app(app)
    response = api.patch(f"/clients/{target}", json={
        "token_endpoint_auth_method": "client_secret_post",
        "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": "cred_x"}]}}})
    assert_error(response, 400, "mutually exclusive")


def test_rotate_secret_returns_the_new_one_and_the_old_one_stops_working(api, app, client):
    target, old = make_app(app, name="Rotated")
    response = api.post(f"/clients/{target}/rotate-secret")
    assert response.status_code == 200, response.json
    new = response.json["client_secret"]
    assert new != old
    with app.app_context():
        stored = find_application(target)
        assert check_client_secret(stored, new) and not check_client_secret(stored, old)
    assert any(e.event_type == "secret_rotated" and e.endpoint == "management_api" for e in events(app, target))


def test_unknown_client_is_404_in_auth0_shape(api):
    assert_error(api.get("/clients/nope"), 404, "Client not found", error_code="inexistent_resource")
    assert_error(api.patch("/clients/nope", json={"name": "x"}), 404)
    assert_error(api.post("/clients/nope/rotate-secret"), 404)


def test_delete_removes_the_application_and_keeps_its_log(api, app):
    target, _ = make_app(app, name="Gone")
    assert api.delete(f"/clients/{target}").status_code == 204
    assert_error(api.get(f"/clients/{target}"), 404)
    assert events(app, target)[0].event_type == "application_deleted"


def test_routing_errors_are_auth0_json(api):
    assert_error(api.get("/nothing-here"), 404)
    response = api.call("PUT", "/clients")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_token_for_another_api_or_without_scope_is_refused(app, client, caller):
    demo_holder, secret = make_app(app, grant=DEMO_API, scopes=("read:demo",), name="Demo caller")
    import base64

    from tests.factories import TOKEN_URL
    basic = base64.b64encode(f"{demo_holder}:{secret}".encode()).decode()
    demo_token = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                             headers={"Authorization": f"Basic {basic}"}).json["access_token"]
    response = Api(client, demo_token).get("/clients")
    assert_error(response, 401, "another API", error_code="invalid_token")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="appcreds-management-api", error="invalid_token"')
    response = client.get("/api/v2/clients")
    assert_error(response, 401, error_code="missing_authentication")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="appcreds-management-api"'
    reader = Api(client, token_for(client, *caller, scopes=["read:clients"]))
    response = reader.post("/clients", json={"name": "x"})
    assert_error(response, 403, "create:clients", error_code="insufficient_scope")
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert_error(reader.get("/clients", token="not.a.jwt"), 401, error_code="invalid_token")


def test_the_management_api_scopes_are_grantable(api):
    assert MANAGEMENT_API.endswith("/api/v2/")


def test_one_patch_can_make_a_public_application_confidential_and_give_it_client_credentials(api, app):
    """The rules judge the application as the request leaves it, whatever the order of the properties."""
    target, _ = make_app(app, method="none", app_type="spa", grant=None, grant_types=["authorization_code"])
    response = api.patch(f"/clients/{target}", json={"grant_types": ["authorization_code", "client_credentials"],
                                                     "token_endpoint_auth_method": "client_secret_post"})
    assert response.status_code == 200, response.json
    assert response.json["token_endpoint_auth_method"] == "client_secret_post"
    back = api.patch(f"/clients/{target}", json={"token_endpoint_auth_method": "none",
                                                 "grant_types": ["authorization_code"]})
    assert back.status_code == 200, back.json
