"""The credential registry's mTLS half (RFC 8705 §2): self-signed certificates for
self_signed_tls_client_auth and subject DNs for tls_client_auth; every acceptance and refusal.

Each refusal is a CredentialError with a sentence for a person, and nothing is stored.
"""
import datetime as dt
import functools

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519
from cryptography.x509.oid import NameOID
from jwcrypto import jwk

from blueprints.credential_documents import credential_document
from blueprints.oauth.client_auth.mtls import same_distinguished_name
from models import Credential, db
from models.applications import find_application, set_auth_method
from models.credential_registry import add_certificate_credential, add_public_key_credential, add_subject_dn_credential
from models.credential_uploads import normalize_subject_dn
from models.errors import CredentialError
from models.key_material import certificate_thumbprint, jwk_thumbprint, key_thumbprint
from models.timeutil import utcnow
from tests.certificates import issue_client_certificate, name, self_signed_certificate, trusted_ca
from tests.factories import make_app, make_rsa_certificate, make_rsa_key, private_pem, public_pem

PRIVATE_KEY_SENTENCE = "must never leave the application"


@pytest.fixture
def application(app):
    """An app context and an application in it."""
    client_id, _ = make_app(app)
    with app.app_context():
        yield find_application(client_id)


def stored_count() -> int:
    return db.session.execute(db.select(db.func.count(Credential.id))).scalar_one()


def refused(application, add, *args, **kwargs) -> str:
    """Call `add`; assert a CredentialError, nothing added (session or database); return the sentence."""
    before, stored_before = list(application.credentials), stored_count()
    with pytest.raises(CredentialError) as raised:
        add(application, *args, **kwargs)
    assert application.credentials == before and not db.session.new, "nothing is changed when it refuses"
    db.session.rollback()
    assert stored_count() == stored_before
    message = str(raised.value)
    assert message[0].isupper() and message.endswith("."), "a sentence for a person"
    return message


def added(application, add, *args, **kwargs) -> Credential:
    credential = add(application, *args, **kwargs)
    db.session.commit()
    return credential


@functools.cache
def _key(kind):
    return {"p256": lambda: ec.generate_private_key(ec.SECP256R1()),
            "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
            "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
            "rsa1024": lambda: make_rsa_key("small", bits=1024),  # weak on purpose: it must be refused
            "dsa": lambda: dsa.generate_private_key(2048),
            "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]()


def certificate_pem(key, common_name="svc", not_before=-1, not_after=30) -> str:
    """A self-signed certificate for `key`, valid from/to `not_before`/`not_after` days from now."""
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now + dt.timedelta(days=not_before))
                   .not_valid_after(now + dt.timedelta(days=not_after)).sign(key, algorithm))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


# --- self_signed_tls_client_auth: accepted ------------------------------------------------------

def test_registers_an_ec_certificate_by_its_thumbprint_with_its_expiry(application):
    issued = self_signed_certificate("nightly-job")
    credential = added(application, add_certificate_credential, issued.pem, name="Nightly job")
    assert (credential.usage, credential.credential_type, credential.name) == (
        "self_signed_tls_client_auth", "x509_cert", "Nightly job")
    assert credential.pem == issued.pem
    assert credential.thumbprint_sha256 == issued.thumbprint and len(issued.thumbprint) == 43
    assert credential.expires_at == issued.certificate.not_valid_after_utc
    assert credential.kid is None and credential.alg is None and credential.subject_dn is None


def test_the_thumbprint_is_base64url_sha256_of_the_der_certificate(application):
    """RFC 8705 §3.1 x5t#S256: the same value the token binding uses (one implementation)."""
    issued = self_signed_certificate()
    der_digest = issued.certificate.fingerprint(hashes.SHA256())
    assert certificate_thumbprint(issued.certificate) == jwk.base64url_encode(der_digest)
    assert added(application, add_certificate_credential, issued.pem).thumbprint_sha256 == jwk.base64url_encode(
        der_digest)


def test_a_certificate_without_a_name_is_named_after_its_common_name(application):
    credential = added(application, add_certificate_credential, self_signed_certificate("billing").pem)
    assert credential.name.startswith("billing (added ")


@pytest.mark.parametrize("kind", ["p256", "p384", "p521", "ed25519"])
def test_the_key_thumbprint_is_rfc_7638_for_ec_and_okp_keys(application, kind):
    """RFC 7638 §3.2 (EC: crv, kty, x, y at the curve's full length) and RFC 8037 §2 (OKP: crv, kty, x)."""
    key = _key(kind)
    credential = added(application, add_certificate_credential, certificate_pem(key))
    expected = jwk.JWK.from_pyca(key.public_key()).thumbprint()
    assert credential.key_thumbprint == jwk_thumbprint(key.public_key()) == expected


def test_the_rsa_key_thumbprint_is_unchanged(application):
    """The same value as before EC support: a key registered earlier is still recognised."""
    key = make_rsa_key("mtls-rsa")
    credential = added(application, add_certificate_credential, make_rsa_certificate(key))
    assert credential.key_thumbprint == jwk.JWK.from_pyca(key.public_key()).thumbprint()


def test_a_key_with_no_jwk_form_is_recognised_by_its_spki_hash(application):
    credential = added(application, add_certificate_credential, certificate_pem(_key("dsa")))
    assert credential.key_thumbprint.startswith("spki:") and len(credential.key_thumbprint) <= 64
    assert key_thumbprint(_key("dsa").public_key()) == credential.key_thumbprint


def test_two_certificates_for_rotation(application):
    for common_name in ("old", "new"):
        added(application, add_certificate_credential, self_signed_certificate(common_name).pem)
    assert [c.usage for c in application.credentials] == ["self_signed_tls_client_auth"] * 2
    set_auth_method(application, "self_signed_tls_client_auth")  # the method switch now allows it


def test_the_document_carries_the_thumbprint(application):
    credential = added(application, add_certificate_credential, self_signed_certificate().pem)
    document = credential_document(credential)
    assert document["credential_type"] == "x509_cert"
    assert document["thumbprint_sha256"] == credential.thumbprint_sha256
    assert document["expires_at"].endswith("Z")


# --- self_signed_tls_client_auth: refused -------------------------------------------------------

def test_refuses_a_private_key(application):
    message = refused(application, add_certificate_credential, self_signed_certificate().key_pem)
    assert PRIVATE_KEY_SENTENCE in message and "considered exposed" in message


def test_refuses_a_certificate_pasted_with_its_private_key(application):
    issued = self_signed_certificate()
    assert PRIVATE_KEY_SENTENCE in refused(application, add_certificate_credential, issued.pem + issued.key_pem)


def test_refuses_a_public_key_that_is_not_a_certificate(application):
    message = refused(application, add_certificate_credential, public_pem(make_rsa_key()))
    assert "BEGIN PUBLIC KEY block, not a certificate" in message


@pytest.mark.parametrize("text, sentence", [
    ("hello", "This is not a PEM certificate"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "could not be read"),
    (b"\x30\x82\xff\xfe", "not PEM text"),
])
def test_refuses_what_is_not_a_readable_certificate(application, text, sentence):
    assert sentence in refused(application, add_certificate_credential, text)


def test_refuses_a_chain(application):
    leaf = issue_client_certificate(trusted_ca(), name("leaf"))
    assert "2 PEM blocks" in refused(application, add_certificate_credential, leaf.pem + trusted_ca().pem)


def test_refuses_an_oversized_upload(application):
    assert "too large" in refused(application, add_certificate_credential, self_signed_certificate().pem + " " * 20_000)


def test_refuses_an_expired_certificate(application):
    message = refused(application, add_certificate_credential, self_signed_certificate(expired=True).pem)
    assert "This certificate expired on" in message


def test_refuses_a_certificate_not_yet_valid(application):
    message = refused(application, add_certificate_credential, certificate_pem(_key("p256"), not_before=2))
    assert "not valid before" in message


def test_refuses_a_small_rsa_key(application):
    assert "at least 2048" in refused(application, add_certificate_credential, certificate_pem(_key("rsa1024")))


def test_refuses_a_third_certificate(application):
    for common_name in ("one", "two"):
        added(application, add_certificate_credential, self_signed_certificate(common_name).pem)
    message = refused(application, add_certificate_credential, self_signed_certificate("three").pem)
    assert "already has 2 credentials for self_signed_tls_client_auth" in message


def test_refuses_the_same_certificate_twice(app, application):
    issued = self_signed_certificate()
    added(application, add_certificate_credential, issued.pem)
    assert "already registered" in refused(application, add_certificate_credential, issued.pem)
    other = find_application(make_app(app, name="Other")[0])
    assert "already registered" in refused(other, add_certificate_credential, issued.pem)


def test_refuses_a_certificate_whose_key_is_registered_for_private_key_jwt(application):
    """Auth0: never reuse a key pair across credential uses; recognised by the RFC 7638 thumbprint."""
    key = make_rsa_key("shared-pair")
    add_public_key_credential(application, "private_key_jwt", public_pem(key))
    db.session.commit()
    assert "already registered" in refused(application, add_certificate_credential, make_rsa_certificate(key))


def test_a_new_certificate_for_a_registered_ec_key_is_refused(application):
    """A re-issued certificate with the same EC key pair: same key thumbprint, refused."""
    key = _key("p384")
    added(application, add_certificate_credential, certificate_pem(key, "first"))
    assert "already registered" in refused(application, add_certificate_credential, certificate_pem(key, "again"))


def test_refuses_a_name_over_128_characters(application):
    refused(application, add_certificate_credential, self_signed_certificate().pem, name="n" * 129)


# --- tls_client_auth: accepted ------------------------------------------------------------------

def test_registers_a_typed_dn_in_normalised_rfc_4514_form(application):
    credential = added(application, add_subject_dn_credential, subject_dn="  2.5.4.3=payments,O=Example Corp,C=US ")
    assert (credential.usage, credential.credential_type) == ("tls_client_auth", "cert_subject_dn")
    assert credential.subject_dn == "CN=payments,O=Example Corp,C=US"
    assert credential.expires_at is None and credential.pem is None and credential.key_thumbprint is None
    assert credential_document(credential)["subject_dn"] == "CN=payments,O=Example Corp,C=US"


def test_a_typed_dn_keeps_its_characters_literally(application):
    credential = added(application, add_subject_dn_credential, subject_dn=r"CN=svc.*,O=AppCreds Tests,C=US")
    assert credential.subject_dn == "CN=svc.*,O=AppCreds Tests,C=US"


def test_a_typed_dn_may_have_an_expiry(application):
    expires_at = utcnow() + dt.timedelta(days=90)
    credential = added(application, add_subject_dn_credential, subject_dn="CN=svc", expires_at=expires_at)
    assert credential.expires_at == expires_at


def test_takes_the_dn_and_expiry_from_a_certificate(application):
    issued = issue_client_certificate(trusted_ca(), name("payments-service"), days_valid=40)
    credential = added(application, add_subject_dn_credential, pem=issued.pem, name="Payments")
    assert credential.subject_dn == "CN=payments-service,O=AppCreds Tests,C=US"
    assert credential.expires_at == issued.certificate.not_valid_after_utc
    assert credential.pem is None, "the DN is the credential; the certificate is not kept"


def test_a_given_expiry_wins_over_the_certificates(application):
    issued = issue_client_certificate(trusted_ca(), name("svc"))
    expires_at = utcnow() + dt.timedelta(days=3)
    assert added(application, add_subject_dn_credential, pem=issued.pem, expires_at=expires_at).expires_at == expires_at


@pytest.mark.parametrize("extra", [
    [],
    [(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops, Payments")],     # a comma that must be escaped
    [(NameOID.EMAIL_ADDRESS, "ops@example.com")],              # written by OID in RFC 4514
    [(NameOID.ORGANIZATIONAL_UNIT_NAME, "#1 team+more")],      # characters RFC 4514 escapes
])
def test_a_dn_taken_from_a_certificate_matches_that_certificate(application, extra):
    """The stored form parses back to the certificate's own subject, as the token endpoint compares it."""
    issued = issue_client_certificate(trusted_ca(), name("svc", extra=extra))
    credential = added(application, add_subject_dn_credential, pem=issued.pem)
    assert same_distinguished_name(issued.certificate.subject, credential.subject_dn)


def test_two_dns_for_rotation_and_the_method_switch(application):
    added(application, add_subject_dn_credential, subject_dn="CN=svc-2025")
    added(application, add_subject_dn_credential, subject_dn="CN=svc-2026")
    set_auth_method(application, "tls_client_auth")


# --- tls_client_auth: refused -------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "cn=payments,ou=Clients,o=Example Corp,c=US",           # RFC 4514 §3: types are case-insensitive
    "Cn=payments,oU=Clients,o=Example Corp,C=US",
    "2.5.4.3=payments,2.5.4.11=Clients,2.5.4.10=Example Corp,2.5.4.6=US",   # RFC 4514 §3: a dotted OID
    "OID.2.5.4.3=payments,oid.2.5.4.11=Clients,O=Example Corp,C=US",      # RFC 2253 §4: the OID. prefix
    "CN=payments, OU=Clients, O=Example Corp, C=US",        # RFC 2253 §4: spaces after the commas
    "CN = payments , OU = Clients ; O = Example Corp ; C = US",  # openssl's display form, ';' between RDNs
])
def test_a_typed_dn_is_read_leniently_and_stored_in_canonical_form(application, typed):
    """Issue 10: lower-case types, OIDs and RFC 2253-era spacing name the same DN, stored one way,
    and it matches the certificate with that subject."""
    credential = added(application, add_subject_dn_credential, subject_dn=typed)
    assert credential.subject_dn == "CN=payments,OU=Clients,O=Example Corp,C=US"
    issued = issue_client_certificate(trusted_ca(), name("payments", organization="Example Corp", extra=[
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Clients")]))
    assert same_distinguished_name(issued.certificate.subject, credential.subject_dn)
    assert same_distinguished_name(issued.certificate.subject, typed)


def test_a_typed_dn_keeps_escaped_separators_and_spaces_in_its_values(application):
    credential = added(application, add_subject_dn_credential, subject_dn=r"cn=a\, b\ ,  o=x\+y")
    assert credential.subject_dn == r"CN=a\, b\ ,O=x\+y"


@pytest.mark.parametrize("dn", [
    "commonName=payments",          # a long name cryptography does not know
    "payments",                     # no attribute type
    "CN=a,,O=b",                    # an empty RDN
])
def test_refuses_a_dn_that_does_not_parse(application, dn):
    message = refused(application, add_subject_dn_credential, subject_dn=dn)
    assert "This subject DN does not parse" in message and "RFC 4514" in message


def test_a_dn_refusal_says_what_cryptography_found(application):
    message = refused(application, add_subject_dn_credential, subject_dn="C=USA,CN=svc")
    assert "length must be >= 2 and <= 2" in message


def test_refuses_a_dn_over_256_characters(application):
    message = refused(application, add_subject_dn_credential, subject_dn="CN=" + "a" * 60 + ",O=" + "b" * 200)
    assert "at most 256 characters" in message


def test_accepts_a_dn_of_256_characters(application):
    dn = ",".join(["OU=" + "x" * 60] * 3) + ",CN=" + "y" * 61  # 3 * 63 + 2 commas + 4 + 61 = 256
    assert len(dn) == 256
    assert added(application, add_subject_dn_credential, subject_dn=dn).subject_dn == dn


def test_a_dn_needs_an_attribute(application):
    with pytest.raises(CredentialError, match="at least one attribute"):
        normalize_subject_dn("")


@pytest.mark.parametrize("fields, sentence", [
    ({}, "Type a subject DN, or upload a certificate"),
    ({"subject_dn": "   "}, "Type a subject DN, or upload a certificate"),
    ({"subject_dn": "CN=svc", "pem": "x"}, "not both"),
])
def test_needs_exactly_one_of_dn_and_certificate(application, fields, sentence):
    assert sentence in refused(application, add_subject_dn_credential, **fields)


def test_refuses_a_private_key_given_as_the_certificate(application):
    issued = issue_client_certificate(trusted_ca(), name("svc"))
    message = refused(application, add_subject_dn_credential, pem=issued.key_pem)
    assert PRIVATE_KEY_SENTENCE in message and "considered exposed" in message


def test_refuses_a_private_key_typed_as_the_dn(application):
    key_pem = private_pem(make_rsa_key())
    assert PRIVATE_KEY_SENTENCE in refused(application, add_subject_dn_credential, subject_dn=key_pem)
    assert PRIVATE_KEY_SENTENCE in refused(application, add_subject_dn_credential, subject_dn=key_pem, pem="x")


def test_refuses_a_certificate_typed_as_the_dn(application):
    message = refused(application, add_subject_dn_credential, subject_dn=self_signed_certificate().pem)
    assert "PEM text, not a subject DN" in message


def test_refuses_a_pem_that_is_not_a_certificate(application):
    message = refused(application, add_subject_dn_credential, pem=public_pem(make_rsa_key()))
    assert "not a certificate" in message


def test_refuses_an_expired_certificate_as_the_dn_source(application):
    expired = issue_client_certificate(trusted_ca(), name("svc"), expired=True)
    assert "This certificate expired on" in refused(application, add_subject_dn_credential, pem=expired.pem)


def test_refuses_an_expiry_in_the_past(application):
    message = refused(application, add_subject_dn_credential, subject_dn="CN=svc",
                      expires_at=utcnow() - dt.timedelta(minutes=1))
    assert "in the past" in message


def test_refuses_a_third_dn(application):
    added(application, add_subject_dn_credential, subject_dn="CN=one")
    added(application, add_subject_dn_credential, subject_dn="CN=two")
    message = refused(application, add_subject_dn_credential, subject_dn="CN=three")
    assert "already has 2 credentials for tls_client_auth" in message


def test_refuses_the_same_dn_twice_for_one_application(application):
    added(application, add_subject_dn_credential, subject_dn="CN=svc,O=Example")
    message = refused(application, add_subject_dn_credential, subject_dn="2.5.4.3=svc,O=Example")
    assert "already has the subject DN CN=svc,O=Example registered" in message


def test_dn_and_certificate_limits_are_counted_per_use(application):
    """Two of each: DNs, certificates and keys do not take each other's places."""
    for index in range(2):
        added(application, add_subject_dn_credential, subject_dn=f"CN=svc-{index}")
        added(application, add_certificate_credential, self_signed_certificate(f"c{index}").pem)
    assert len(application.credentials) == 4
