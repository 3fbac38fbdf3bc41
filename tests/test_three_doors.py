"""One rule, three doors: the dashboard, the command line and the Management API refuse the same
change with the same sentence, because each asks the same domain function (models/)."""
import html

import pytest

from models import Client, Credential, db
from tests.conftest import DashboardActions
from tests.factories import make_app, make_jwt_app, make_rsa_key, private_pem, public_pem, register_key
from tests.management_api.conftest import MANAGEMENT_API, Api, token_for


@pytest.fixture
def doors(app, client, runner, tmp_path):
    """Each door as a function of (what to do) -> the text of its refusal."""
    dashboard = DashboardActions(client)
    assert dashboard.login().status_code == 302
    from models.apis import MANAGEMENT_SCOPES

    caller = make_app(app, grant=MANAGEMENT_API, scopes=tuple(MANAGEMENT_SCOPES), name="Door caller")
    api = Api(app.test_client(), token_for(client, *caller))

    def cli(*args):
        result = runner.invoke(args=list(args))
        assert result.exit_code != 0, result.output
        return result.output

    def page(response, status=400):
        assert response.status_code == status, response.status_code
        return html.unescape(response.get_data(as_text=True))

    def message(response, status=400):
        assert response.status_code == status, response.json
        return response.json["message"]

    return type("Doors", (), {"dashboard": dashboard, "api": api, "cli": staticmethod(cli),
                              "page": staticmethod(page), "message": staticmethod(message), "tmp": tmp_path})


def count(app, model):
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_a_machine_to_machine_application_cannot_be_public(doors, app):
    sentence = "a machine-to-machine application must authenticate; it cannot be public (none)"
    form = {"name": "Public M2M", "app_type": "non_interactive", "token_endpoint_auth_method": "none",
            "grant_types": ["client_credentials"]}
    assert sentence in doors.page(doors.dashboard.post("/applications/new", form)).lower()
    assert sentence in doors.cli("clients", "create", "Public M2M", "--app-type", "non_interactive",
                                 "--method", "none").lower()
    assert sentence in doors.message(doors.api.post("/clients", json={
        "name": "Public M2M", "app_type": "non_interactive", "token_endpoint_auth_method": "none"})).lower()


def test_a_public_application_cannot_use_client_credentials(doors, app):
    """RFC 6749 §4.4: client credentials is for confidential clients; every door refuses `none` with it."""
    sentence = "a public application (none) cannot use the client credentials grant"
    form = {"name": "Public SPA", "app_type": "spa", "token_endpoint_auth_method": "none",
            "grant_types": ["client_credentials", "authorization_code"], "callback_urls": "https://spa.example/cb"}
    assert sentence in doors.page(doors.dashboard.post("/applications/new", form)).lower()
    assert sentence in doors.cli("clients", "create", "Public SPA", "--app-type", "spa", "--method", "none",
                                 "--grant-type", "client_credentials").lower()
    assert sentence in doors.message(doors.api.post("/clients", json={
        "name": "Public SPA", "app_type": "spa", "token_endpoint_auth_method": "none",
        "grant_types": ["client_credentials"]})).lower()
    assert count(app, Client) == 1  # the door caller only


def test_a_private_key_is_never_accepted(doors, app):
    client_id, _ = make_app(app, name="Keyholder")
    secret_pem = private_pem(make_rsa_key("three-doors-private"))
    sentence = "This is a private key. Upload only the public key"
    form = {"key_pem": secret_pem, "key_alg": "RS256"}
    assert sentence in doors.page(doors.dashboard.post(f"/applications/{client_id}/credentials/private-key-jwt",
                                                       form, page=f"/applications/{client_id}/credentials"))
    pem_file = doors.tmp / "private.pem"
    pem_file.write_text(secret_pem)
    assert sentence in doors.cli("credentials", "add", client_id, "--use", "private_key_jwt", "--pem", str(pem_file))
    assert sentence in doors.message(doors.api.post(f"/clients/{client_id}/credentials", json={
        "credential_type": "public_key", "pem": secret_pem}))
    assert count(app, Credential) == 0


def test_two_credentials_at_most(doors, app):
    client_id, _ = make_app(app, name="Two keys")
    for index in range(2):
        register_key(app, client_id, make_rsa_key(f"three-doors-{index}"))
    third = public_pem(make_rsa_key("three-doors-third"))
    sentence = "already has 2 credentials for private_key_jwt"
    assert sentence in doors.page(doors.dashboard.post(
        f"/applications/{client_id}/credentials/private-key-jwt", {"key_pem": third, "key_alg": "RS256"},
        page=f"/applications/{client_id}/credentials"))
    pem_file = doors.tmp / "third.pem"
    pem_file.write_text(third)
    assert sentence in doors.cli("credentials", "add", client_id, "--use", "private_key_jwt", "--pem", str(pem_file))
    # Through the API a new key is registered first, then referenced: the same limit holds at the reference.
    registered = doors.api.post(f"/clients/{client_id}/credentials", json={"credential_type": "public_key",
                                                                            "pem": third})
    assert registered.status_code == 201
    ids = [c["id"] for c in doors.api.get(f"/clients/{client_id}/credentials").json]
    refusal = doors.message(doors.api.patch(f"/clients/{client_id}", json={
        "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": i} for i in ids]}}}))
    assert "client_authentication_methods.private_key_jwt.credentials" in refusal and "at most 2" in refusal


def test_the_last_key_in_use_is_kept_until_it_is_replaced(doors, app):
    client_id, _key, _kid = make_jwt_app(app, name="Relies on one key")
    with app.app_context():
        [credential_id] = db.session.execute(db.select(Credential.id)).scalars().all()
    sentence = "only current private_key_jwt credential"
    delete_url = f"/applications/{client_id}/credentials/{credential_id}/delete"
    assert sentence in doors.page(doors.dashboard.post(delete_url, page=delete_url))
    assert sentence in doors.cli("credentials", "delete", client_id, credential_id)
    assert sentence in doors.message(doors.api.delete(f"/clients/{client_id}/credentials/{credential_id}"))
    assert count(app, Credential) == 1


def test_only_a_secret_can_be_rotated(doors, app):
    client_id, _key, _kid = make_jwt_app(app, name="No secret")
    sentence = "only an application that authenticates with a client secret has one to rotate"
    assert sentence in doors.page(doors.dashboard.post(f"/applications/{client_id}/credentials/rotate",
                                                       page=f"/applications/{client_id}/credentials/rotate")).lower()
    assert sentence in doors.cli("clients", "rotate-secret", client_id).lower()
    assert sentence in doors.message(doors.api.post(f"/clients/{client_id}/rotate-secret")).lower()


def test_a_subject_dn_belongs_to_one_application(doors, app):
    """RFC 8705 §2.1: a certificate's subject DN identifies the client, so it must name one application;
    the same DN in another case or spacing is the same DN (issue 10). The Management API answers 409."""
    from models.applications import find_application
    from models.credential_registry import add_subject_dn_credential

    holder, _ = make_app(app, name="DN holder")
    with app.app_context():
        add_subject_dn_credential(find_application(holder), subject_dn="CN=payments,O=Example Corp,C=US")
        db.session.commit()
    client_id, _ = make_app(app, name="DN taker")
    same_dn = "cn=Payments, o=example corp, c=US"
    sentence = "Another application already has the subject DN CN=Payments,O=example corp,C=US registered"
    assert sentence in doors.page(doors.dashboard.post(
        f"/applications/{client_id}/credentials/subject-dns", {"subject_dn": same_dn},
        page=f"/applications/{client_id}/credentials"))
    assert sentence in doors.cli("credentials", "add", client_id, "--use", "tls_client_auth", "--subject-dn", same_dn)
    assert sentence in doors.message(doors.api.post(f"/clients/{client_id}/credentials", json={
        "credential_type": "cert_subject_dn", "subject_dn": same_dn}), status=409)
    created = doors.api.post("/clients", json={
        "name": "DN at creation", "app_type": "non_interactive",
        "client_authentication_methods": {"tls_client_auth": {"credentials": [
            {"credential_type": "cert_subject_dn", "subject_dn": same_dn}]}}})
    assert sentence in doors.message(created, status=409)
    assert count(app, Credential) == 1


def test_every_door_sets_require_pkce_through_one_function(doors, app, client):
    """RFC 9700 §2.1.1: PKCE is required by default; the dashboard, the CLI and the Management API
    (AppCreds' own property require_pkce) all opt out and back in through update_application."""
    client_id, _ = make_app(app, app_type="regular_web", callback_urls=["https://app.example/cb"],
                            grant_types=["authorization_code"])

    def required():
        with app.app_context():
            return db.session.execute(db.select(Client.require_pkce).filter_by(client_id=client_id)).scalar_one()

    assert required() is True
    form = {"name": "Web", "app_type": "regular_web", "callback_urls": "https://app.example/cb",
            "grant_types": ["authorization_code"]}
    assert doors.dashboard.post(f"/applications/{client_id}/settings", form).status_code == 302
    assert required() is False
    assert doors.api.patch(f"/clients/{client_id}", json={"require_pkce": True}).json["require_pkce"] is True
    assert required() is True
    result = app.test_cli_runner().invoke(args=["clients", "update", client_id, "--require-pkce", "off"])
    assert result.exit_code == 0, result.output
    assert required() is False
    assert doors.api.get(f"/clients/{client_id}").json["require_pkce"] is False
    assert doors.message(doors.api.patch(f"/clients/{client_id}", json={"require_pkce": None})) == (
        "Payload validation error: 'require_pkce' may not be null")
