"""/api/v2/clients/{id}/credentials and client_authentication_methods: register, reference, rotate."""
import pytest
from cryptography import x509

from tests.certificates import issue_client_certificate, name, self_signed_certificate, trusted_ca
from tests.factories import (
    TOKEN_URL,
    events,
    make_app,
    make_assertion,
    make_ec_key,
    make_rsa_certificate,
    make_rsa_key,
    private_pem,
    public_pem,
)
from tests.management_api.conftest import assert_error

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def public_key_body(key_name, **extra):
    return {"credential_type": "public_key", "pem": public_pem(make_rsa_key(key_name)), **extra}


def assertion_token(client, client_id, key, kid=None):
    return client.post(TOKEN_URL, data={
        "grant_type": "client_credentials", "audience": "http://127.0.0.1:5000/api/demo/",
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": make_assertion(client_id, key, kid)})


def test_a_new_key_authenticates_nothing_until_the_application_references_it(api, app, client):
    target, _ = make_app(app, name="Signer")
    created = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-a", name="laptop"))
    assert created.status_code == 201, created.json
    credential = created.json
    assert credential["id"].startswith("cred_") and credential["credential_type"] == "public_key"
    assert (credential["name"], credential["alg"], credential["expires_at"]) == ("laptop", "RS256", None)
    assert "pem" not in credential
    assert api.get(f"/clients/{target}").json["client_authentication_methods"] is None

    # Switching to a method with an unreferenced key only: the key is named, so it is used.
    switched = api.patch(f"/clients/{target}", json={
        "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": credential["id"]}]}}})
    assert switched.status_code == 200, switched.json
    assert switched.json["token_endpoint_auth_method"] is None
    assert switched.json["client_authentication_methods"] == {
        "private_key_jwt": {"credentials": [{"id": credential["id"]}]}}
    assert "client_secret" not in switched.json  # switching away from a secret drops it
    assert assertion_token(client, target, make_rsa_key("mapi-a")).status_code == 200
    kinds = [e.event_type for e in events(app, target)]
    assert "credential_added" in kinds and "auth_method_changed" in kinds


def test_rotation_add_a_second_key_reference_both_then_retire_the_first(api, app, client):
    target, _ = make_app(app, name="Rotating")
    first = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-r1")).json["id"]
    second = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-r2", alg="PS256")).json["id"]
    methods = {"private_key_jwt": {"credentials": [{"id": first}]}}
    assert api.patch(f"/clients/{target}", json={"client_authentication_methods": methods}).status_code == 200
    # The only key in use cannot be deleted before it is replaced.
    assert_error(api.delete(f"/clients/{target}/credentials/{first}"), 400, "only current private_key_jwt")
    both = {"private_key_jwt": {"credentials": [{"id": first}, {"id": second}]}}
    assert api.patch(f"/clients/{target}", json={"client_authentication_methods": both}).status_code == 200
    assert api.delete(f"/clients/{target}/credentials/{first}").status_code == 204
    assert assertion_token(client, target, make_rsa_key("mapi-r1")).status_code == 401
    assert api.get(f"/clients/{target}/credentials").json[0]["id"] == second


def test_create_with_inline_credentials(api, client):
    response = api.post("/clients", json={
        "name": "Inline", "app_type": "non_interactive",
        "client_authentication_methods": {"private_key_jwt": {"credentials": [public_key_body("mapi-inline")]}}})
    assert response.status_code == 201, response.json
    created = response.json
    referenced = created["client_authentication_methods"]["private_key_jwt"]["credentials"]
    assert len(referenced) == 1 and "client_secret" not in created
    # The key authenticates; the application has no API grant yet, so the token itself is refused.
    refused = assertion_token(client, created["client_id"], make_rsa_key("mapi-inline"))
    assert (refused.status_code, refused.json["error"]) == (400, "access_denied")
    assert api.get(f"/clients/{created['client_id']}/credentials").json[0]["id"] == referenced[0]["id"]


def test_jar_keys_are_referenced_by_signed_request_object_and_kept_apart(api, app):
    target, _ = make_app(app, app_type="regular_web", name="Signed requests")
    jar = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-jar")).json["id"]
    response = api.patch(f"/clients/{target}", json={"signed_request_object": {
        "required": True, "credentials": [{"id": jar}]}})
    assert response.status_code == 200, response.json
    assert response.json["signed_request_object"] == {"required": True, "credentials": [{"id": jar}]}
    # A JAR key never authenticates the client.
    refused = api.patch(f"/clients/{target}", json={
        "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": jar}]}}})
    assert_error(refused, 400, "client_authentication_methods.private_key_jwt", "used for jar")


def test_mtls_credentials_by_type(api, app):
    target, _ = make_app(app, name="mTLS")
    certificate = self_signed_certificate("mapi-self-signed")
    added = api.post(f"/clients/{target}/credentials", json={"credential_type": "x509_cert", "pem": certificate.pem})
    assert added.status_code == 201, added.json
    assert added.json["thumbprint_sha256"]
    dn = api.post(f"/clients/{target}/credentials", json={
        "credential_type": "cert_subject_dn", "subject_dn": "CN=payments,O=Example Corp,C=US"})
    assert dn.status_code == 201 and dn.json["subject_dn"] == "CN=payments,O=Example Corp,C=US"
    from_cert = api.post(f"/clients/{target}/credentials", json={
        "credential_type": "cert_subject_dn", "pem": issue_client_certificate(trusted_ca(), name("mapi-dn")).pem})
    assert from_cert.status_code == 201 and "CN=mapi-dn" in from_cert.json["subject_dn"]
    switched = api.patch(f"/clients/{target}", json={"client_authentication_methods": {
        "self_signed_tls_client_auth": {"credentials": [{"id": added.json["id"]}]}}})
    assert switched.status_code == 200, switched.json
    wrong_type = api.patch(f"/clients/{target}", json={"client_authentication_methods": {
        "tls_client_auth": {"credentials": [{"id": added.json["id"]}]}}})
    assert_error(wrong_type, 400, "x509_cert", "cert_subject_dn")


def test_expiry_is_the_only_thing_a_patch_changes(api, app):
    target, _ = make_app(app)
    credential = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-exp")).json["id"]
    response = api.patch(f"/clients/{target}/credentials/{credential}", json={"expires_at": "2031-01-31T00:00:00Z"})
    assert response.status_code == 200 and response.json["expires_at"] == "2031-01-31T00:00:00.000Z"
    cleared = api.patch(f"/clients/{target}/credentials/{credential}", json={"expires_at": None})
    assert cleared.json["expires_at"] is None
    assert_error(api.patch(f"/clients/{target}/credentials/{credential}", json={"name": "x"}), 400, "name")
    assert_error(api.patch(f"/clients/{target}/credentials/{credential}",
                           json={"expires_at": "2001-01-01T00:00:00Z"}), 400, "expires_at", "past")


@pytest.mark.parametrize(("body", "status", "fragments"), [
    ({"credential_type": "public_key", "pem": private_pem(make_rsa_key("mapi-private"))}, 400, ["private key"]),
    ({"credential_type": "public_key", "pem": public_pem(make_rsa_key("mapi-small", bits=1024))}, 400,
     ["1024 bits"]),
    ({"credential_type": "public_key", "pem": public_pem(make_ec_key("mapi-ec"))}, 400, ["EC key"]),
    ({"credential_type": "public_key", "pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}, 400,
     ["could not be read"]),
    ({"credential_type": "public_key"}, 400, ["pem"]),
    ({"credential_type": "public_key", "pem": "x", "subject_dn": "CN=a"}, 400, ["subject_dn"]),
    ({"credential_type": "cert_subject_dn", "subject_dn": "CN=a", "pem": "x"}, 400, ["not both"]),
    ({"credential_type": "cert_subject_dn", "subject_dn": "CN=" + "a" * 300}, 400, ["subject_dn"]),
    ({"credential_type": "cert_subject_dn", "subject_dn": "not a dn"}, 400, ["does not parse"]),
    ({"credential_type": "x509_cert", "pem": "x" * 5000}, 400, ["pem"]),
    ({"credential_type": "x509_cert", "pem": "x", "alg": "RS256"}, 400, ["alg"]),
    ({"credential_type": "symmetric"}, 400, ["credential_type"]),
    ({"credential_type": "public_key", "pem": "x", "kid": "short"}, 400, ["kid"]),
    ({"credential_type": "public_key", "pem": "x", "extra": 1}, 400, ["Additional properties", "extra"]),
])
def test_refuses_bad_credentials_naming_the_property(api, app, body, status, fragments):
    target, _ = make_app(app)
    assert_error(api.post(f"/clients/{target}/credentials", json=body), status, *fragments)
    assert api.get(f"/clients/{target}/credentials").json == []


def test_a_third_credential_and_a_duplicate_key_are_refused(api, app):
    target, _ = make_app(app)
    other, _ = make_app(app, name="Other")
    for key_name in ("mapi-1", "mapi-2"):
        assert api.post(f"/clients/{target}/credentials", json=public_key_body(key_name)).status_code == 201
    assert_error(api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-3")), 400, "already has 2")
    duplicate = api.post(f"/clients/{other}/credentials", json=public_key_body("mapi-1"))
    assert_error(duplicate, 409, "already registered", error_code="credential_conflict")
    certificate = make_rsa_certificate(make_rsa_key("mapi-cert"))
    assert api.post(f"/clients/{other}/credentials", json={"credential_type": "x509_cert", "pem": certificate}
                    ).status_code == 201
    again = api.post(f"/clients/{other}/credentials", json={"credential_type": "x509_cert", "pem": certificate})
    assert_error(again, 409, "already registered")


def test_a_public_key_sent_as_a_certificate_expires_with_it_unless_told_otherwise(api, app):
    """Issue 10 (hardening): without parse_expiry_from_cert or expires_at, the certificate's notAfter."""
    target, _ = make_app(app)
    certificate_pem = make_rsa_certificate(make_rsa_key("mapi-expiring"), days_valid=10)
    not_after = x509.load_pem_x509_certificate(certificate_pem.encode()).not_valid_after_utc
    created = api.post(f"/clients/{target}/credentials", json={"credential_type": "public_key", "pem": certificate_pem})
    assert created.status_code == 201, created.json
    assert created.json["expires_at"] == not_after.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    other_key = make_rsa_certificate(make_rsa_key("mapi-chosen-expiry"), days_valid=10)
    chosen = api.post(f"/clients/{target}/credentials", json={"credential_type": "public_key", "pem": other_key,
                                                             "expires_at": "2099-01-01T00:00:00.000Z"})
    assert chosen.status_code == 201, chosen.json
    assert chosen.json["expires_at"] == "2099-01-01T00:00:00.000Z"


def test_references_to_unknown_or_foreign_credentials_are_refused(api, app):
    target, _ = make_app(app)
    other, _ = make_app(app, name="Other")
    foreign = api.post(f"/clients/{other}/credentials", json=public_key_body("mapi-foreign")).json["id"]
    for credential_id, owner in ((foreign, "another application"), ("cred_unknown", "no application")):
        response = api.patch(f"/clients/{target}", json={
            "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": credential_id}]}}})
        assert_error(response, 400, "client_authentication_methods.private_key_jwt", owner)
    assert api.get(f"/clients/{target}").json["token_endpoint_auth_method"] == "client_secret_basic"
    assert_error(api.get(f"/clients/{target}/credentials/{foreign}"), 404)


def test_secret_rotation_is_refused_for_a_private_key_jwt_application(api, app):
    target, _ = make_app(app)
    credential = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-norotate")).json["id"]
    api.patch(f"/clients/{target}", json={
        "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": credential}]}}})
    assert_error(api.post(f"/clients/{target}/rotate-secret"), 400, "client secret")
    # Back to a secret: a new one is made.
    back = api.patch(f"/clients/{target}", json={"token_endpoint_auth_method": "client_secret_post"})
    assert back.json["client_authentication_methods"] is None and back.json["client_secret"]


def test_the_dashboard_shows_a_registered_key_no_method_uses_and_can_delete_it(api, app, client, dashboard):
    target, _ = make_app(app, name="Shown")
    credential = api.post(f"/clients/{target}/credentials", json=public_key_body("mapi-shown", name="ci key")).json
    tab = client.get(f"/applications/{target}/credentials").get_data(as_text=True)
    assert "Registered, not in use" in tab and "ci key" in tab and credential["kid"] in tab
    delete_url = f"/applications/{target}/credentials/{credential['id']}/delete"
    assert dashboard.post(delete_url, page=delete_url).status_code == 302
    assert api.get(f"/clients/{target}/credentials").json == []
