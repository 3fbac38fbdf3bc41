"""The Credentials tab's Private Key JWT and mTLS sections (blueprints/dashboard/credential_sections.py):
adding, renaming, expiry and deleting keys, certificates and subject DNs; every refusal a field
error with nothing stored; the method switch; certificate-bound tokens."""
import datetime as dt
import html as html_lib
import io
import re

import pytest

from models import Credential, db
from models.applications import find_application
from tests.certificates import issue_client_certificate, name, self_signed_certificate, trusted_ca
from tests.dashboard.conftest import load, url
from tests.factories import (
    DEMO_API,
    ISSUER,
    TOKEN_URL,
    events,
    last_event,
    make_app,
    make_assertion,
    make_rsa_certificate,
    make_rsa_key,
    private_pem,
    public_pem,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def tab(client_id):
    return url(client_id, "credentials")


def post(dashboard, client_id, action, data=None):
    """POST one of the tab's forms (`action` like "private-key-jwt"), with the tab's CSRF token."""
    return dashboard.post(url(client_id, f"credentials/{action}"), data or {}, page=tab(client_id))


def page(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def field_errors(response, field_id) -> str:
    """The errors shown under one field (the `field` macro's <div id="<field>-error">)."""
    match = re.search(rf'<div id="{re.escape(field_id)}-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert match, f"no error on field {field_id}"
    return html_lib.unescape(match.group(1))


def stored(app, use=None) -> list[Credential]:
    with app.app_context():
        query = db.select(Credential).order_by(Credential.created_at)
        if use:
            query = query.where(Credential.usage == use)
        rows = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return rows


def pem_file(text, filename="upload.pem"):
    return (io.BytesIO(text.encode() if isinstance(text, str) else text), filename)


def add_key(dashboard, client_id, key=None, **fields):
    data = {"key_pem": public_pem(key or make_rsa_key()), "key_alg": "RS256", **fields}
    return post(dashboard, client_id, "private-key-jwt", data)


def add_certificate(dashboard, client_id, issued=None, **fields):
    issued = issued or self_signed_certificate()
    return post(dashboard, client_id, "certificates", {"certificate_file": pem_file(issued.pem), **fields})


def add_dn(dashboard, client_id, dn, **fields):
    return post(dashboard, client_id, "subject-dns", {"subject_dn": dn, **fields})


def set_expiry(dashboard, client_id, credential, when):
    """POST a row's "Set expiry" with a datetime-local value like "2099-03-01T08:30"."""
    return post(dashboard, client_id, f"{credential.id}/expiry", {"expires_at": when, "set_expiry": "Set expiry"})


def switch_method(dashboard, client_id, method):
    """Switch, confirming that the secret is deleted."""
    return post(dashboard, client_id, "method", {"token_endpoint_auth_method": method, "confirmed": "yes"})


# mTLS methods are offered only on a server with a TLS edge.
WITH_AN_EDGE = pytest.mark.parametrize("app_config", [{"APPCREDS_EDGE_SECRET": "edge-secret"}])


def jwt_token(client, client_id, key, kid=None, alg="RS256"):
    return client.post(TOKEN_URL, data={
        "grant_type": "client_credentials", "audience": DEMO_API, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": make_assertion(client_id, key, kid=kid, alg=alg)})


@pytest.fixture
def client_id(confidential_app):
    return confidential_app[0]


# --- the page -------------------------------------------------------------------------------------

def test_the_tab_shows_both_sections_with_their_help(client, dashboard, client_id):
    html = page(client.get(tab(client_id)))
    assert "Private Key JWT keys" in html and "No Private Key JWT key is registered." in html
    assert "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out private.pem" in html
    assert "openssl pkey -in private.pem -pubout -out public.pem" in html
    assert f"<code>aud</code>: exactly <code>{ISSUER}</code>" in html
    assert f"<code>iss</code> and <code>sub</code>: the client ID, <code>{client_id}</code>" in html
    assert "at most 300 seconds\n        (5 minutes)" in html and "<code>jti</code>" in html
    assert "Self-signed certificates" in html and "Subject DNs for CA-issued certificates" in html
    assert "openssl req -x509 -newkey ec" in html and "mTLS behind nginx (RFC 8705)" in html
    assert "Require sender-constrained (certificate-bound) tokens" in html
    assert 'enctype="multipart/form-data"' in html


def test_says_mtls_is_disabled_without_an_edge_secret(client, dashboard, client_id):
    html = page(client.get(tab(client_id)))
    assert "mTLS is disabled on this server: <code>APPCREDS_EDGE_SECRET</code> is not" in html


class TestWithAnEdge:
    @pytest.fixture
    def app_config(self):
        return {"APPCREDS_EDGE_SECRET": "edge-secret", "APPCREDS_MTLS_BASE_URL": "https://mtls.auth.example/"}

    def test_mtls_is_not_said_to_be_disabled(self, client, dashboard, client_id):
        html = page(client.get(tab(client_id)))
        assert "mTLS is disabled" not in html
        assert "send their mTLS requests to <code>https://mtls.auth.example/</code>" in html


# --- Private Key JWT keys: adding ---------------------------------------------------------------------

def test_adds_a_pasted_key_and_logs_it(client, dashboard, app, client_id):
    key = make_rsa_key("dashboard-pasted")
    response = add_key(dashboard, client_id, key, key_alg="PS256", key_name="Billing key")
    assert response.status_code == 302 and response.headers["Location"].endswith("#private-key-jwt-heading")
    [credential] = stored(app)
    assert (credential.usage, credential.alg, credential.name) == ("private_key_jwt", "PS256", "Billing key")
    event = last_event(app, client_id)
    assert (event.event_type, event.actor, event.endpoint) == ("credential_added", "admin@example.com", "dashboard")
    assert event.reason == f"Private Key JWT key {credential.kid} (PS256) added"
    html = page(client.get(tab(client_id)))
    assert "Billing key" in html and credential.kid in html and ">active<" in html


def test_adds_an_uploaded_key_file_with_its_kid_and_expiry(dashboard, app, client_id):
    response = post(dashboard, client_id, "private-key-jwt", {
        "key_file": pem_file(public_pem(make_rsa_key("uploaded"), pkcs1=True)), "key_alg": "RS384",
        "key_kid": "billing-2026-key", "key_expires_at": "2099-01-31T12:00"})
    assert response.status_code == 302
    [credential] = stored(app)
    assert (credential.kid, credential.alg) == ("billing-2026-key", "RS384")
    assert credential.expires_at == dt.datetime(2099, 1, 31, 12, tzinfo=dt.UTC)


def test_takes_the_expiry_from_a_certificate(dashboard, app, client_id):
    certificate = make_rsa_certificate(make_rsa_key("with-cert"), days_valid=20)
    response = add_key(dashboard, client_id, key_pem=certificate, key_expiry_from_certificate="y")
    assert response.status_code == 302
    [credential] = stored(app)
    assert dt.timedelta(days=19) < credential.expires_at - dt.datetime.now(dt.UTC) < dt.timedelta(days=21)


def test_a_pasted_private_key_is_refused_on_its_field_and_never_stored_or_shown(dashboard, app, client_id):
    secret_pem = private_pem(make_rsa_key())
    response = add_key(dashboard, client_id, key_pem=secret_pem)
    assert response.status_code == 400
    errors = field_errors(response, "key_pem")
    assert "must never leave the application" in errors and "considered exposed" in errors
    assert stored(app) == []
    body = secret_pem.splitlines()[1]
    assert body not in response.get_data(as_text=True), "the private key is not sent back in the page"


def test_an_uploaded_private_key_is_refused_on_the_file_field(dashboard, app, client_id):
    response = post(dashboard, client_id, "private-key-jwt",
                    {"key_file": pem_file(private_pem(make_rsa_key())), "key_alg": "RS256"})
    assert response.status_code == 400
    assert "must never leave the application" in field_errors(response, "key_file")
    assert stored(app) == []


@pytest.mark.parametrize("fields, field_id, sentence", [
    ({"key_pem": ""}, "key_pem", "Paste a PEM public key or certificate, or upload the file."),
    ({"key_file": None}, "key_pem", "Paste the PEM or upload a file, not both."),
    ({"key_pem": "not a key"}, "key_pem", "This is not a PEM public key or certificate."),
    ({"key_pem": public_pem(make_rsa_key("small", bits=1024))}, "key_pem", "at least 2048 are required"),
    ({"key_alg": "HS256"}, "key_alg", "Choose one of RS256, RS384, PS256."),
    ({"key_kid": "short"}, "key_kid", "10 to 64 characters"),
    ({"key_expires_at": "2001-01-01T00:00"}, "key_expires_at", "is in the past"),
    ({"key_expires_at": "next week"}, "key_expires_at", "is not an ISO 8601 date"),
    ({"key_expiry_from_certificate": "y"}, "key_expiry_from_certificate", "only from a certificate"),
    ({"key_name": "n" * 129}, "key_name", "128"),
], ids=["no-pem", "pem-and-file", "not-pem", "small-rsa", "alg", "kid", "past", "not-a-date", "expiry-from-key",
        "long-name"])
def test_each_refusal_is_on_its_field_and_stores_nothing(dashboard, app, client_id, fields, field_id, sentence):
    if "key_file" in fields:
        fields = {"key_file": pem_file(public_pem(make_rsa_key("second")))}
    response = add_key(dashboard, client_id, **fields)
    assert response.status_code == 400
    if field_id == "key_expiry_from_certificate":
        assert sentence in page(response)  # the checkbox macro lists its errors under the box
    else:
        assert sentence in field_errors(response, field_id)
    assert stored(app) == []


def test_a_duplicate_kid_is_refused_on_the_kid_field(dashboard, app, client_id):
    assert add_key(dashboard, client_id, make_rsa_key("one"), key_kid="shared-kid-1").status_code == 302
    response = add_key(dashboard, client_id, make_rsa_key("two"), key_kid="shared-kid-1")
    assert response.status_code == 400
    assert "already has the key ID shared-kid-1" in field_errors(response, "key_kid")
    assert len(stored(app)) == 1


def test_a_key_registered_elsewhere_is_refused(dashboard, app, client_id, confidential_app):
    other_id, _ = make_app(app, name="Other")
    key = make_rsa_key("twice")
    assert add_key(dashboard, other_id, key).status_code == 302
    response = add_key(dashboard, client_id, key)
    assert response.status_code == 400
    assert "already registered" in field_errors(response, "key_pem")


def test_a_third_key_is_refused_and_the_form_is_hidden_at_two(client, dashboard, app, client_id):
    for name_ in ("one", "two"):
        assert add_key(dashboard, client_id, make_rsa_key(name_)).status_code == 302
    html = page(client.get(tab(client_id)))
    assert 'aria-label="Add a Private Key JWT key"' not in html and "Delete one to add another." in html
    response = add_key(dashboard, client_id, make_rsa_key("three"))
    assert response.status_code == 400
    assert "already has 2 credentials for private_key_jwt" in field_errors(response, "key_pem")
    assert len(stored(app)) == 2


# --- Private Key JWT keys: the method switch, rename, expiry, delete ----------------------------------

def test_the_switch_to_private_key_jwt_is_allowed_once_a_key_is_added(client, dashboard, app, client_id):
    assert switch_method(dashboard, client_id, "private_key_jwt").status_code == 400
    key = make_rsa_key("switch")
    add_key(dashboard, client_id, key)
    assert switch_method(dashboard, client_id, "private_key_jwt").status_code == 302
    assert load(app, client_id).token_endpoint_auth_method == "private_key_jwt"
    assert jwt_token(client, client_id, key).status_code == 200


def test_rename(client, dashboard, app, client_id):
    add_key(dashboard, client_id, key_name="Old name")
    [credential] = stored(app)
    response = post(dashboard, client_id, f"{credential.id}/rename", {"name": "  New name "})
    assert response.status_code == 302
    assert stored(app)[0].name == "New name"
    event = last_event(app, client_id)
    assert event.event_type == "credential_renamed" and "renamed from 'Old name'" in event.reason


def test_rename_to_nothing_is_an_error_on_that_rows_field(dashboard, app, client_id):
    add_key(dashboard, client_id, key_name="Keep me")
    [credential] = stored(app)
    response = post(dashboard, client_id, f"{credential.id}/rename", {"name": ""})
    assert response.status_code == 400
    assert "Enter a name." in field_errors(response, f"rename-{credential.id}")
    assert stored(app)[0].name == "Keep me"


def test_set_and_clear_the_expiry(dashboard, app, client_id):
    add_key(dashboard, client_id)
    [credential] = stored(app)
    assert set_expiry(dashboard, client_id, credential, "2099-03-01T08:30").status_code == 302
    assert stored(app)[0].expires_at == dt.datetime(2099, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert last_event(app, client_id).reason.endswith("now expires 2099-03-01T08:30:00.000Z")
    response = post(dashboard, client_id, f"{credential.id}/expiry", {"clear_expiry": "Clear expiry"})
    assert response.status_code == 302
    assert stored(app)[0].expires_at is None
    assert [e.event_type for e in events(app, client_id)][:2] == ["credential_expiry_changed"] * 2


def test_an_expiry_in_the_past_is_an_error_on_that_rows_field(dashboard, app, client_id):
    add_key(dashboard, client_id)
    [credential] = stored(app)
    response = set_expiry(dashboard, client_id, credential, "2001-01-01T00:00")
    assert response.status_code == 400
    assert "is in the past" in field_errors(response, f"expiry-{credential.id}")
    assert stored(app)[0].expires_at is None


def test_an_expired_key_shows_as_expired_and_fails_at_once(client, dashboard, app, client_id):
    key = make_rsa_key("to-expire")
    add_key(dashboard, client_id, key)
    switch_method(dashboard, client_id, "private_key_jwt")
    with app.app_context():
        credential = db.session.execute(db.select(Credential)).scalar_one()
        credential.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.commit()
    assert ">expired<" in page(client.get(tab(client_id)))
    assert jwt_token(client, client_id, key).status_code == 401


def test_delete_asks_for_confirmation_then_its_assertions_fail(client, dashboard, app, client_id):
    key = make_rsa_key("to-delete")
    add_key(dashboard, client_id, key)
    switch_method(dashboard, client_id, "private_key_jwt")
    [credential] = stored(app)
    delete_url = url(client_id, f"credentials/{credential.id}/delete")
    assert f'href="{delete_url}"' in page(client.get(tab(client_id)))
    confirm = page(client.get(delete_url))
    assert f"Key ID <code>{credential.kid}</code>" in confirm and "stops working immediately" in confirm
    assert "This is the only current credential for" in confirm  # and the application uses its method
    assert stored(app), "a GET deletes nothing"
    assert jwt_token(client, client_id, key).status_code == 200
    # The only key the method in force relies on is kept until it is replaced (the rule of every door).
    refused = dashboard.post(delete_url, page=delete_url)
    assert refused.status_code == 400 and "only current private_key_jwt credential" in page(refused)
    assert len(stored(app)) == 1 and jwt_token(client, client_id, key).status_code == 200
    add_key(dashboard, client_id, make_rsa_key("replacement"))
    response = dashboard.post(delete_url, page=delete_url)
    assert response.status_code == 302
    assert [c.id for c in stored(app)] != [credential.id] and len(stored(app)) == 1
    assert last_event(app, client_id).event_type == "credential_deleted"
    assert jwt_token(client, client_id, key).status_code == 401


def test_delete_without_confirmation_token_changes_nothing(client, dashboard, app, client_id):
    add_key(dashboard, client_id)
    [credential] = stored(app)
    response = client.post(url(client_id, f"credentials/{credential.id}/delete"))
    assert response.status_code == 400
    assert len(stored(app)) == 1


def test_another_applications_credential_is_not_found(client, dashboard, app, client_id):
    other_id, _ = make_app(app, name="Other")
    add_key(dashboard, other_id)
    [credential] = stored(app)
    assert client.get(url(client_id, f"credentials/{credential.id}/delete")).status_code == 404
    assert post(dashboard, client_id, f"{credential.id}/rename", {"name": "mine"}).status_code == 404


# --- mTLS: self-signed certificates -----------------------------------------------------------------

def test_adds_a_self_signed_certificate_and_lists_it(client, dashboard, app, client_id):
    issued = self_signed_certificate("nightly-job")
    response = add_certificate(dashboard, client_id, issued, certificate_name="Nightly")
    assert response.status_code == 302 and response.headers["Location"].endswith("#mtls-certificates-heading")
    [credential] = stored(app)
    assert (credential.usage, credential.thumbprint_sha256) == ("self_signed_tls_client_auth", issued.thumbprint)
    assert last_event(app, client_id).reason == f"self-signed certificate {issued.thumbprint} added"
    html = page(client.get(tab(client_id)))
    assert issued.thumbprint in html and "CN=nightly-job,O=AppCreds Tests,C=US" in html
    assert issued.certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S UTC") in html


def test_a_pasted_certificate_is_accepted_too(dashboard, app, client_id):
    response = post(dashboard, client_id, "certificates", {"certificate_pem": self_signed_certificate().pem})
    assert response.status_code == 302 and len(stored(app)) == 1


@pytest.mark.parametrize("make_upload, sentence", [
    (lambda: self_signed_certificate().key_pem, "must never leave the application"),
    (lambda: public_pem(make_rsa_key()), "not a certificate"),
    (lambda: self_signed_certificate(expired=True).pem, "This certificate expired on"),
    (lambda: "just text", "This is not a PEM certificate"),
], ids=["private-key", "public-key", "expired", "not-pem"])
def test_certificate_refusals_are_on_the_file_field(dashboard, app, client_id, make_upload, sentence):
    response = post(dashboard, client_id, "certificates", {"certificate_file": pem_file(make_upload())})
    assert response.status_code == 400
    assert sentence in field_errors(response, "certificate_file")
    assert stored(app) == []


def test_a_private_key_pasted_as_a_certificate_is_refused_and_not_shown(dashboard, app, client_id):
    key_pem = self_signed_certificate().key_pem
    response = post(dashboard, client_id, "certificates", {"certificate_pem": key_pem})
    assert response.status_code == 400
    assert "considered exposed" in field_errors(response, "certificate_pem")
    assert key_pem.splitlines()[1] not in response.get_data(as_text=True)
    assert stored(app) == []


def test_a_third_certificate_is_refused(dashboard, app, client_id):
    for common_name in ("one", "two"):
        assert add_certificate(dashboard, client_id, self_signed_certificate(common_name)).status_code == 302
    response = add_certificate(dashboard, client_id, self_signed_certificate("three"))
    assert response.status_code == 400
    assert "already has 2 credentials" in field_errors(response, "certificate_file")
    assert len(stored(app)) == 2


@WITH_AN_EDGE
def test_the_switch_to_self_signed_mtls_is_allowed_once_a_certificate_is_added(dashboard, app, client_id):
    assert switch_method(dashboard, client_id, "self_signed_tls_client_auth").status_code == 400
    add_certificate(dashboard, client_id)
    assert switch_method(dashboard, client_id, "self_signed_tls_client_auth").status_code == 302
    assert load(app, client_id).token_endpoint_auth_method == "self_signed_tls_client_auth"


def test_a_certificates_expiry_is_its_own(dashboard, app, client_id):
    add_certificate(dashboard, client_id)
    [credential] = stored(app)
    response = post(dashboard, client_id, f"{credential.id}/expiry", {"clear_expiry": "Clear expiry"})
    assert response.status_code == 400
    assert "its own notAfter date" in field_errors(response, f"expiry-{credential.id}")
    assert stored(app)[0].expires_at == credential.expires_at


def test_delete_a_certificate(client, dashboard, app, client_id):
    issued = self_signed_certificate()
    add_certificate(dashboard, client_id, issued)
    [credential] = stored(app)
    delete_url = url(client_id, f"credentials/{credential.id}/delete")
    assert f"Thumbprint <code>{issued.thumbprint}</code>" in page(client.get(delete_url))
    assert dashboard.post(delete_url).status_code == 302
    assert stored(app) == []
    assert last_event(app, client_id).reason.startswith("self-signed certificate ")


# --- mTLS: subject DNs -------------------------------------------------------------------------------

@WITH_AN_EDGE
def test_adds_a_typed_subject_dn_and_switches_to_tls_client_auth(client, dashboard, app, client_id):
    assert switch_method(dashboard, client_id, "tls_client_auth").status_code == 400
    response = add_dn(dashboard, client_id, "2.5.4.3=payments,O=Example Corp,C=US", dn_name="Payments")
    assert response.status_code == 302 and response.headers["Location"].endswith("#mtls-subject-dns-heading")
    [credential] = stored(app)
    assert credential.subject_dn == "CN=payments,O=Example Corp,C=US"
    assert last_event(app, client_id).reason == "subject DN CN=payments,O=Example Corp,C=US added"
    assert "CN=payments,O=Example Corp,C=US" in page(client.get(tab(client_id)))
    assert switch_method(dashboard, client_id, "tls_client_auth").status_code == 302


def test_takes_the_subject_dn_from_an_uploaded_certificate(dashboard, app, client_id):
    issued = issue_client_certificate(trusted_ca(), name("payments-service"))
    response = post(dashboard, client_id, "subject-dns", {"dn_certificate_file": pem_file(issued.pem)})
    assert response.status_code == 302
    [credential] = stored(app)
    assert credential.subject_dn == "CN=payments-service,O=AppCreds Tests,C=US"
    assert credential.expires_at == issued.certificate.not_valid_after_utc


@pytest.mark.parametrize("fields, field_id, sentence", [
    ({"subject_dn": "commonName=svc, O=Example"}, "subject_dn", "This subject DN does not parse"),
    ({"subject_dn": ""}, "subject_dn", "Type a subject DN, or give a certificate to take it from."),
    ({"subject_dn": "CN=svc", "dn_certificate_pem": "x"}, "subject_dn", "not both"),
    ({"subject_dn": "CN=svc", "dn_expires_at": "2001-01-01T00:00"}, "dn_expires_at", "is in the past"),
    ({"dn_certificate_pem": "-----BEGIN PUBLIC KEY-----\n"}, "dn_certificate_pem", "not a certificate"),
], ids=["no-parse", "nothing", "both", "past", "not-a-certificate"])
def test_dn_refusals_are_on_their_field(dashboard, app, client_id, fields, field_id, sentence):
    response = post(dashboard, client_id, "subject-dns", fields)
    assert response.status_code == 400
    assert sentence in field_errors(response, field_id)
    assert stored(app) == []


def test_an_expired_certificate_is_no_source_for_a_dn(dashboard, app, client_id):
    expired = issue_client_certificate(trusted_ca(), name("svc"), expired=True)
    response = post(dashboard, client_id, "subject-dns", {"dn_certificate_file": pem_file(expired.pem)})
    assert response.status_code == 400
    assert "This certificate expired on" in field_errors(response, "dn_certificate_file")


def test_a_private_key_for_a_dn_is_refused_and_not_stored(dashboard, app, client_id):
    key_pem = issue_client_certificate(trusted_ca(), name("svc")).key_pem
    response = post(dashboard, client_id, "subject-dns", {"dn_certificate_pem": key_pem})
    assert response.status_code == 400
    assert "must never leave the application" in field_errors(response, "dn_certificate_pem")
    assert stored(app) == []


def test_a_third_dn_is_refused(dashboard, app, client_id):
    for index in range(2):
        assert add_dn(dashboard, client_id, f"CN=svc-{index}").status_code == 302
    response = add_dn(dashboard, client_id, "CN=svc-3")
    assert response.status_code == 400
    assert "already has 2 credentials for tls_client_auth" in field_errors(response, "subject_dn")
    assert len(stored(app)) == 2


def test_rename_and_delete_a_dn(client, dashboard, app, client_id):
    add_dn(dashboard, client_id, "CN=svc")
    [credential] = stored(app)
    assert post(dashboard, client_id, f"{credential.id}/rename", {"name": "Service DN"}).status_code == 302
    delete_url = url(client_id, f"credentials/{credential.id}/delete")
    assert "Subject DN <code>CN=svc</code>" in page(client.get(delete_url))
    assert dashboard.post(delete_url).status_code == 302
    assert stored(app) == []
    assert [e.event_type for e in events(app, client_id)][:3] == [
        "credential_deleted", "credential_renamed", "credential_added"]


# --- certificate-bound tokens ------------------------------------------------------------------------

def test_the_proof_of_possession_toggle(client, dashboard, app, confidential_app):
    client_id, secret = confidential_app
    response = post(dashboard, client_id, "proof-of-possession", {"require_proof_of_possession": "y"})
    assert response.status_code == 302
    assert load(app, client_id).require_proof_of_possession is True
    assert last_event(app, client_id).event_type == "proof_of_possession_changed"
    assert re.search(r'<input[^>]* checked id="require_proof_of_possession"', page(client.get(tab(client_id))))
    refused = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                          auth=(client_id, secret))
    assert refused.status_code == 400 and refused.json["error"] == "invalid_request"

    assert post(dashboard, client_id, "proof-of-possession", {}).status_code == 302
    assert load(app, client_id).require_proof_of_possession is False
    issued = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "audience": DEMO_API},
                         auth=(client_id, secret))
    assert issued.status_code == 200


def test_a_damaged_certificate_row_does_not_break_the_tab(client, dashboard, app, client_id):
    with app.app_context():
        application = find_application(client_id)
        application.credentials.append(Credential(
            usage="self_signed_tls_client_auth", credential_type="x509_cert", name="damaged", pem="not a PEM"))
        db.session.commit()
    response = client.get(tab(client_id))
    assert response.status_code == 200
    assert "(the stored certificate cannot be read)" in page(response)


def test_expiry_inputs_take_one_labelled_utc_format_as_typed(client, dashboard, app, client_id):
    """No locale date-time picker beside a UTC label: one format, in the label, accepted as typed."""
    html = page(client.get(tab(client_id)))
    assert 'type="datetime-local"' not in html
    assert "Expires (UTC, YYYY-MM-DD HH:MM) (optional)" in html
    assert 'placeholder="YYYY-MM-DD HH:MM"' in html
    response = add_dn(dashboard, client_id, "CN=typed,O=Example Corp,C=US", dn_expires_at="2099-03-01 08:30")
    assert response.status_code == 302
    [credential] = stored(app)
    assert credential.expires_at.strftime("%Y-%m-%d %H:%M") == "2099-03-01 08:30"
    assert 'value="2099-03-01 08:30"' in page(client.get(tab(client_id)))  # the row's input, same format


def test_a_private_key_in_the_certificate_box_asks_for_a_certificate(dashboard, app, client_id):
    """The mTLS box takes certificates only: the refusal says so, not "the public key"."""
    response = post(dashboard, client_id, "certificates", {"certificate_pem": private_pem(make_rsa_key())})
    assert response.status_code == 400
    assert "This is a private key. Upload only a certificate:" in page(response)
    assert stored(app) == []


def test_a_refused_upload_keeps_the_pasted_text_and_asks_for_the_file_again(dashboard, client_id):
    response = post(dashboard, client_id, "certificates", {"certificate_pem": "not a certificate",
                                                           "certificate_name": "kept"})
    html = page(response)
    assert response.status_code == 400
    assert "not a certificate</textarea>" in html and 'value="kept"' in html
    assert "a browser cannot keep a chosen file: choose it again" in html

