"""RFC 8705 §2 mTLS client authentication and §3 certificate-bound tokens, with the edge's
headers sent by the test client (tests/e2e/test_mtls_nginx.py does the same through nginx)."""
import datetime as dt

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from blueprints.oauth.client_auth import mtls
from models import db
from models.applications import find_application, set_auth_method
from models.credential_registry import add_certificate_credential, add_subject_dn_credential, delete_credential
from models.timeutil import utcnow
from tests.certificates import foreign_ca, issue_client_certificate, name, self_signed_certificate, trusted_ca
from tests.factories import DEMO_API, TOKEN_URL, last_event, make_app

EDGE_SECRET = "edge-secret-for-tests"
GENERIC_FAILURE = {"error": "invalid_client", "error_description": "client authentication failed"}


@pytest.fixture
def app_config(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text(trusted_ca().pem)
    return {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_MTLS_CA_BUNDLE": str(bundle)}


def edge_headers(issued=None, verdict="SUCCESS", secret=EDGE_SECRET):
    headers = {"cname-api-key": secret, "client-certificate-ca-verified": verdict}
    if issued is not None:
        headers["client-certificate"] = issued.header_value
    return headers


def register(app, client_id, use, add):
    """Register a credential through the registry, as the dashboard and CLI do, and switch to `use`."""
    with app.app_context():
        client = find_application(client_id)
        credential = add(client)
        set_auth_method(client, use)
        db.session.commit()
        return credential.id


def register_certificate(app, client_id, issued):
    return register(app, client_id, "self_signed_tls_client_auth",
                    lambda client: add_certificate_credential(client, issued.pem, name="cert"))


def register_dn(app, client_id, dn):
    return register(app, client_id, "tls_client_auth",
                    lambda client: add_subject_dn_credential(client, subject_dn=dn, name="dn"))


def token_request(client, client_id, headers, **form):
    data = {"grant_type": "client_credentials", "audience": DEMO_API, "client_id": client_id, **form}
    return client.post(TOKEN_URL, data=data, headers=headers)


def bound_thumbprint(response):
    return pyjwt.decode(response.json["access_token"], options={"verify_signature": False}).get("cnf")


@pytest.fixture
def ca_client(app):
    client_id, _ = make_app(app)
    certificate = issue_client_certificate(trusted_ca(), name("payments-service"))
    register_dn(app, client_id, "CN=payments-service,O=AppCreds Tests,C=US")
    return client_id, certificate


@pytest.fixture
def self_signed_client(app):
    client_id, _ = make_app(app)
    certificate = self_signed_certificate()
    register_certificate(app, client_id, certificate)
    return client_id, certificate


def test_tls_client_auth_accepts_ca_issued_certificate_with_registered_dn(client, app, ca_client):
    client_id, certificate = ca_client
    response = token_request(client, client_id, edge_headers(certificate))
    assert response.status_code == 200, response.json
    assert bound_thumbprint(response) == {"x5t#S256": certificate.thumbprint}
    assert len(certificate.thumbprint) == 43  # base64url of 32 bytes, never hex
    event = last_event(app, client_id)
    assert (event.outcome, event.method) == ("success", "tls_client_auth")


def test_self_signed_accepts_registered_certificate(client, app, self_signed_client):
    client_id, certificate = self_signed_client
    response = token_request(client, client_id, edge_headers(certificate, verdict="FAILED:self signed certificate"))
    assert response.status_code == 200, response.json
    assert bound_thumbprint(response) == {"x5t#S256": certificate.thumbprint}


def test_self_signed_rejects_another_certificate(client, app, self_signed_client):
    client_id, _ = self_signed_client
    response = token_request(client, client_id, edge_headers(self_signed_certificate("intruder")))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "certificate_mismatch"


def test_self_signed_rejects_expired_certificate(client, app, monkeypatch):
    client_id, _ = make_app(app)
    # The registry refuses an expired certificate, so register it while valid, then let it expire.
    expired = self_signed_certificate()
    register_certificate(app, client_id, expired)
    later = expired.certificate.not_valid_after_utc + dt.timedelta(seconds=1)
    assert later > utcnow()
    monkeypatch.setattr(mtls, "utcnow", lambda: later)
    response = token_request(client, client_id, edge_headers(expired))
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "certificate_expired"


def test_tls_client_auth_rejects_expired_certificate(client, app, ca_client):
    client_id, _ = ca_client
    expired = issue_client_certificate(trusted_ca(), name("payments-service"), expired=True)
    response = token_request(client, client_id, edge_headers(expired))
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code in ("certificate_chain_invalid", "certificate_expired")


def test_tls_client_auth_rejects_unknown_ca_even_if_the_edge_said_success(client, app, ca_client):
    """Defence in depth: AppCreds verifies the chain itself against its CA bundle."""
    client_id, _ = ca_client
    foreign = issue_client_certificate(foreign_ca(), name("payments-service"))
    response = token_request(client, client_id, edge_headers(foreign))
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    assert last_event(app, client_id).reason_code == "certificate_chain_invalid"


def test_tls_client_auth_requires_the_edge_verdict(client, app, ca_client):
    client_id, certificate = ca_client
    response = token_request(client, client_id, edge_headers(certificate, verdict="FAILED:unable to verify"))
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "certificate_not_ca_verified"


@pytest.mark.parametrize("subject", [
    name("payments-service2"),                                                       # another CN
    name("payments-service", extra=[(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops")]),     # an extra RDN
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payments-service")]),       # missing RDNs
    name("payments-service", organization="AppCreds Tests, Inc"),                    # a longer value
], ids=["other-cn", "extra-rdn", "missing-rdns", "longer-value"])
def test_tls_client_auth_rejects_dn_mismatch(client, app, ca_client, subject):
    client_id, _ = ca_client
    other = issue_client_certificate(trusted_ca(), subject)
    response = token_request(client, client_id, edge_headers(other))
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "subject_dn_mismatch"


def test_dn_comparison_is_not_a_pattern_match(client, app):
    """A registered DN with regex metacharacters matches only itself, character for character."""
    client_id, _ = make_app(app)
    register_dn(app, client_id, r"CN=svc.*,O=AppCreds Tests,C=US")
    near_miss = issue_client_certificate(trusted_ca(), name("svc-anything"))
    assert token_request(client, client_id, edge_headers(near_miss)).status_code == 401
    exact = issue_client_certificate(trusted_ca(), name("svc.*"))
    assert token_request(client, client_id, edge_headers(exact)).status_code == 200


def test_dn_comparison_ignores_case_and_spacing(client, app):
    client_id, _ = make_app(app)
    register_dn(app, client_id, "CN=Payments  Service,O=appcreds tests,C=us")
    certificate = issue_client_certificate(trusted_ca(), name("payments service"))
    assert token_request(client, client_id, edge_headers(certificate)).status_code == 200


@pytest.mark.parametrize("typed", ["cn=payments-service,o=AppCreds Tests,c=US",
                                   "2.5.4.3=payments-service, 2.5.4.10=AppCreds Tests, 2.5.4.6=US"])
def test_a_dn_typed_with_lower_case_types_or_oids_authenticates_its_certificate(client, app, typed):
    """RFC 4514 §3: attribute types are case-insensitive and may be dotted OIDs (issue 10)."""
    client_id, _ = make_app(app)
    register_dn(app, client_id, typed)
    certificate = issue_client_certificate(trusted_ca(), name("payments-service"))
    assert token_request(client, client_id, edge_headers(certificate)).status_code == 200
    other = issue_client_certificate(trusted_ca(), name("billing-service"))
    assert token_request(client, client_id, edge_headers(other)).status_code == 401


@pytest.mark.parametrize("usages, accepted", [
    ((ExtendedKeyUsageOID.SERVER_AUTH,), False),
    ((ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION), False),
    ((ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH), True),
    ((ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,), True),
    (None, True),                                          # no extension: no restriction
])
def test_tls_client_auth_requires_client_auth_usage_when_the_certificate_names_its_usages(client, app, usages,
                                                                                         accepted):
    """RFC 5280 §4.2.1.12: a certificate with an extended key usage is for the purposes it names;
    a server certificate from the same CA must not authenticate a client (issue 10, hardening)."""
    client_id, _ = make_app(app)
    register_dn(app, client_id, "CN=payments-service,O=AppCreds Tests,C=US")
    certificate = issue_client_certificate(trusted_ca(), name("payments-service"), extended_key_usage=usages)
    response = token_request(client, client_id, edge_headers(certificate))
    if accepted:
        assert response.status_code == 200, response.json
    else:
        assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
        assert last_event(app, client_id).reason_code == "not_for_client_auth"


def test_no_certificate(client, app, ca_client):
    client_id, _ = ca_client
    response = token_request(client, client_id, edge_headers(None))
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "method_not_registered"


def test_forged_header_without_edge_secret_never_authenticates(client, app, self_signed_client):
    client_id, certificate = self_signed_client
    headers = edge_headers(certificate)
    del headers["cname-api-key"]
    response = token_request(client, client_id, headers)
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    event = last_event(app, client_id)
    assert (event.reason_code, event.reason) == (
        "untrusted_certificate_source", "client certificate header from an untrusted source")


def test_wrong_edge_secret(client, app, self_signed_client):
    client_id, certificate = self_signed_client
    response = token_request(client, client_id, edge_headers(certificate, secret="guess"))
    assert response.status_code == 401
    assert last_event(app, client_id).reason_code == "untrusted_certificate_source"


class TestTrustedProxies:
    @pytest.fixture
    def app_config(self):
        return {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_TRUSTED_PROXIES": "10.9.8.0/24"}

    def test_edge_secret_from_an_untrusted_address_is_not_enough(self, client, app, self_signed_client):
        client_id, certificate = self_signed_client
        response = token_request(client, client_id, edge_headers(certificate))  # from 127.0.0.1
        assert response.status_code == 401
        assert last_event(app, client_id).reason_code == "untrusted_certificate_source"
        trusted = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API,
                                               "client_id": client_id}, headers=edge_headers(certificate),
                              environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert trusted.status_code == 200


@pytest.mark.parametrize("header_value, reason", [
    ("not a certificate", "not URL-encoded PEM"),
    ("-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A", "readable X.509"),
    ("%FF%FE", "not URL-encoded PEM"),
    ("x" * 5000, "exceeds 4096 bytes"),
])
def test_malformed_certificate_headers(client, app, self_signed_client, header_value, reason):
    client_id, _ = self_signed_client
    headers = edge_headers(None)
    headers["client-certificate"] = header_value
    response = token_request(client, client_id, headers)
    assert (response.status_code, response.json) == (401, GENERIC_FAILURE)
    event = last_event(app, client_id)
    assert event.reason_code == "malformed_certificate_header" and reason in event.reason


def test_a_chain_in_the_header_is_refused(client, app, self_signed_client):
    client_id, certificate = self_signed_client
    headers = edge_headers(None)
    headers["client-certificate"] = certificate.header_value + trusted_ca().header_value
    assert token_request(client, client_id, headers).status_code == 401
    assert "not a chain" in last_event(app, client_id).reason


def test_two_certificate_headers_are_refused(client, app, self_signed_client):
    client_id, certificate = self_signed_client
    headers = list(edge_headers(certificate).items()) + [("client-certificate", certificate.header_value)]
    assert token_request(client, client_id, headers).status_code == 401
    assert last_event(app, client_id).reason_code == "malformed_certificate_header"


def test_rotation_with_two_certificates(client, app, self_signed_client):
    client_id, first = self_signed_client
    second = self_signed_certificate("second")
    with app.app_context():
        add_certificate_credential(find_application(client_id), second.pem)
        db.session.commit()
    assert token_request(client, client_id, edge_headers(first)).status_code == 200
    assert token_request(client, client_id, edge_headers(second)).status_code == 200
    with app.app_context():
        application = find_application(client_id)
        delete_credential(application, application.credentials[0])
        db.session.commit()
    assert token_request(client, client_id, edge_headers(first)).status_code == 401
    assert token_request(client, client_id, edge_headers(second)).status_code == 200


def test_mtls_requires_client_id(client, app, self_signed_client):
    """RFC 8705 §2: the client_id parameter identifies the client."""
    _, certificate = self_signed_client
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                           headers=edge_headers(certificate))
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request", "error_description": "client_id is required with mtls"}


class TestCertificateBoundTokens:
    def test_secret_client_with_certificate_gets_a_bound_token(self, client, app):
        client_id, secret = make_app(app, method="client_secret_post")
        certificate = self_signed_certificate("any")
        response = token_request(client, client_id, edge_headers(certificate), client_secret=secret)
        assert response.status_code == 200
        assert bound_thumbprint(response) == {"x5t#S256": certificate.thumbprint}

    def test_require_proof_of_possession_refuses_without_certificate(self, client, app):
        client_id, secret = make_app(app, method="client_secret_post")
        with app.app_context():
            find_application(client_id).require_proof_of_possession = True
            db.session.commit()
        response = token_request(client, client_id, {}, client_secret=secret)
        assert response.status_code == 400
        assert response.json["error"] == "invalid_request"
        assert "requires certificate-bound tokens" in response.json["error_description"]
        bound = token_request(client, client_id, edge_headers(self_signed_certificate()), client_secret=secret)
        assert bound.status_code == 200 and bound_thumbprint(bound)

    def test_untrusted_certificate_never_binds(self, client, app):
        client_id, secret = make_app(app, method="client_secret_post")
        response = token_request(client, client_id, edge_headers(self_signed_certificate(), secret="forged"),
                                 client_secret=secret)
        assert response.status_code == 200
        assert bound_thumbprint(response) is None

    def test_demo_api_accepts_bound_token_only_with_its_certificate(self, client, app, self_signed_client):
        client_id, certificate = self_signed_client
        token = token_request(client, client_id, edge_headers(certificate)).json["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        ok = client.get("/api/demo/whoami", headers={**bearer, **edge_headers(certificate)})
        assert ok.status_code == 200 and ok.json["client_id"] == client_id
        without = client.get("/api/demo/whoami", headers=bearer)
        assert without.status_code == 401
        assert 'error="invalid_token"' in without.headers["WWW-Authenticate"]
        other = client.get("/api/demo/whoami", headers={**bearer, **edge_headers(self_signed_certificate("x"))})
        assert other.status_code == 401
        assert other.json["error_description"] == "the token is bound to another client certificate"


def test_metadata_advertises_mtls(client):
    metadata = client.get("/.well-known/oauth-authorization-server").json
    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(metadata["token_endpoint_auth_methods_supported"])


class TestEndpointAliases:
    @pytest.fixture
    def app_config(self):
        return {"APPCREDS_EDGE_SECRET": EDGE_SECRET, "APPCREDS_MTLS_BASE_URL": "https://mtls.auth.example/"}

    def test_metadata_publishes_mtls_endpoint_aliases(self, client):
        """RFC 8705 §5: every endpoint where clients authenticate, on the mTLS host."""
        aliases = client.get("/.well-known/oauth-authorization-server").json["mtls_endpoint_aliases"]
        assert aliases == {
            "token_endpoint": "https://mtls.auth.example/oauth/token",
            "revocation_endpoint": "https://mtls.auth.example/oauth/revoke",
            "introspection_endpoint": "https://mtls.auth.example/oauth/introspect",
            "pushed_authorization_request_endpoint": "https://mtls.auth.example/oauth/par",
        }


def test_no_aliases_without_an_mtls_base_url(client):
    assert "mtls_endpoint_aliases" not in client.get("/.well-known/oauth-authorization-server").json
