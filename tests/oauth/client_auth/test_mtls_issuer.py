"""tls_client_auth (RFC 8705 §2.1) with a subject DN that pins its issuing CA: two CAs are trusted,
and a DN registered with one of them accepts only that CA's certificates, through the token endpoint."""
import pytest

from models import Credential, db
from models.applications import find_application
from models.credential_registry import add_subject_dn_credential
from models.errors import CredentialError, DuplicateCredentialError
from tests.certificates import foreign_ca, issue_client_certificate, name, trusted_ca
from tests.factories import last_event, make_app
from tests.oauth.client_auth.test_mtls import (
    EDGE_SECRET,
    GENERIC_FAILURE,
    edge_headers,
    register,
    register_dn,
    token_request,
)

SUBJECT = "CN=payments-service,O=AppCreds Tests,C=US"
TRUSTED_ISSUER = "CN=AppCreds Test CA,O=AppCreds Tests,C=US"


@pytest.fixture
def app_config(tmp_path):
    """Both test CAs are trusted, so only a pinned issuer tells their certificates apart."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text(trusted_ca().pem + foreign_ca().pem)
    return {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_MTLS_CA_BUNDLE": str(bundle)}


def register_pinned_dn(app, client_id, subject=SUBJECT, issuer=TRUSTED_ISSUER):
    return register(app, client_id, "tls_client_auth",
                    lambda client: add_subject_dn_credential(client, subject_dn=subject, issuer_dn=issuer, name="dn"))


def test_a_pinned_dn_accepts_its_own_cas_certificate(client, app):
    client_id, _ = make_app(app)
    register_pinned_dn(app, client_id)
    certificate = issue_client_certificate(trusted_ca(), name("payments-service"))
    response = token_request(client, client_id, edge_headers(certificate))
    assert response.status_code == 200, response.json


def test_a_pinned_dn_refuses_the_same_subject_from_another_trusted_ca(client, app):
    """RFC 8705 §2.1: the subject DN is only meaningful together with the CA that vouches for it."""
    client_id, _ = make_app(app)
    register_pinned_dn(app, client_id)
    other = issue_client_certificate(foreign_ca(), name("payments-service"))
    response = token_request(client, client_id, edge_headers(other))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    event = last_event(app, client_id)
    assert (event.outcome, event.reason_code) == ("failure", "issuer_mismatch")


def test_a_dn_without_an_issuer_accepts_any_trusted_ca(client, app):
    client_id, _ = make_app(app)
    register_dn(app, client_id, SUBJECT)
    other = issue_client_certificate(foreign_ca(), name("payments-service"))
    assert token_request(client, client_id, edge_headers(other)).status_code == 200


def test_a_dn_taken_from_a_certificate_pins_its_issuer(client, app):
    client_id, _ = make_app(app)
    uploaded = issue_client_certificate(trusted_ca(), name("payments-service"))
    credential_id = register(app, client_id, "tls_client_auth",
                             lambda client: add_subject_dn_credential(client, pem=uploaded.pem, name="dn"))
    with app.app_context():
        assert db.session.get(Credential, credential_id).issuer_dn == TRUSTED_ISSUER
    renewed = issue_client_certificate(trusted_ca(), name("payments-service"))
    assert token_request(client, client_id, edge_headers(renewed)).status_code == 200
    other = issue_client_certificate(foreign_ca(), name("payments-service"))
    assert token_request(client, client_id, edge_headers(other)).status_code == 401
    assert last_event(app, client_id).reason_code == "issuer_mismatch"


def test_the_issuer_is_compared_parsed_not_as_text(client, app):
    client_id, _ = make_app(app)
    register_pinned_dn(app, client_id, issuer="cn=AppCreds  Test CA, o=appcreds tests, 2.5.4.6=US")
    certificate = issue_client_certificate(trusted_ca(), name("payments-service"))
    assert token_request(client, client_id, edge_headers(certificate)).status_code == 200


def test_one_subject_dn_per_issuer_across_applications(app):
    """A certificate names one application: the same (subject DN, issuer) pair twice is refused, and so is
    the subject DN without an issuer while another application holds it for any issuer."""
    first, _ = make_app(app, name="First")
    second, _ = make_app(app, name="Second")
    register_pinned_dn(app, first)
    with app.app_context():
        client = find_application(second)
        with pytest.raises(DuplicateCredentialError, match="Another application already has the subject DN"):
            add_subject_dn_credential(client, subject_dn=SUBJECT, issuer_dn=TRUSTED_ISSUER)
        with pytest.raises(DuplicateCredentialError):
            add_subject_dn_credential(client, subject_dn=SUBJECT)
        # The same subject from another CA is another identity.
        foreign_issuer = "CN=Some Other CA,O=AppCreds Tests,C=US"
        add_subject_dn_credential(client, subject_dn=SUBJECT, issuer_dn=foreign_issuer)
        db.session.commit()


def test_a_typed_issuer_must_parse_and_is_not_typed_beside_a_certificate(app):
    client_id, _ = make_app(app)
    uploaded = issue_client_certificate(trusted_ca(), name("payments-service"))
    with app.app_context():
        client = find_application(client_id)
        with pytest.raises(CredentialError, match="This issuer DN does not parse"):
            add_subject_dn_credential(client, subject_dn=SUBJECT, issuer_dn="not a DN")
        with pytest.raises(CredentialError, match="taken from the uploaded certificate"):
            add_subject_dn_credential(client, pem=uploaded.pem, issuer_dn=TRUSTED_ISSUER)


def test_the_cli_pins_a_typed_issuer(app, runner, client):
    client_id, _ = make_app(app)
    result = runner.invoke(args=["credentials", "add", client_id, "--use", "tls_client_auth",
                                 "--subject-dn", SUBJECT, "--issuer-dn", TRUSTED_ISSUER])
    assert result.exit_code == 0, result.output
    assert f"issuer_dn:        {TRUSTED_ISSUER}" in result.output
    assert runner.invoke(args=["clients", "set-method", client_id, "tls_client_auth"]).exit_code == 0
    other = issue_client_certificate(foreign_ca(), name("payments-service"))
    assert token_request(client, client_id, edge_headers(other)).status_code == 401
    assert last_event(app, client_id).reason_code == "issuer_mismatch"
    misplaced = runner.invoke(args=["credentials", "add", client_id, "--use", "private_key_jwt", "--pem", "-",
                                    "--issuer-dn", TRUSTED_ISSUER], input="x")
    assert misplaced.exit_code != 0 and "--issuer-dn does not apply to --use private_key_jwt" in misplaced.output
