"""The credential registry (models/credential_registry.py): what is accepted, and every refusal.

Each refusal is a CredentialError with a sentence for a person, and nothing is stored.
"""
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwcrypto import jwk

from blueprints.credential_documents import credential_document
from models import Credential, db
from models.applications import find_application, set_auth_method
from models.credential_registry import (
    add_public_key_credential,
    delete_credential,
    list_credentials,
    rename_credential,
    set_credential_expiry,
)
from models.credential_uploads import parse_expires_at
from models.errors import ApplicationError, CredentialError
from models.timeutil import utcnow
from tests.factories import make_app, make_ec_key, make_rsa_certificate, make_rsa_key, private_pem, public_pem

PRIVATE_KEY_SENTENCE = "must never leave the application"


@pytest.fixture
def application(app):
    """An app context and an application in it."""
    client_id, _ = make_app(app)
    with app.app_context():
        yield find_application(client_id)


def add(application, pem, use="private_key_jwt", **kwargs):
    credential = add_public_key_credential(application, use, pem, **kwargs)
    db.session.commit()
    return credential


def refused(application, pem, use="private_key_jwt", **kwargs) -> str:
    """Try to add; assert it is refused and nothing was stored; return the sentence."""
    with pytest.raises(CredentialError) as raised:
        add_public_key_credential(application, use, pem, **kwargs)
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count(Credential.id))).scalar_one() == 0
    message = str(raised.value)
    assert message[0].isupper() and message.endswith("."), "a sentence for a person"
    return message


# --- accepted ------------------------------------------------------------------------------------

def test_accepts_an_spki_public_key_with_the_rfc_7638_thumbprint_as_kid(application):
    key = make_rsa_key()
    credential = add(application, public_pem(key))
    expected_kid = jwk.JWK.from_pem(public_pem(key).encode()).thumbprint()  # an independent implementation
    assert (credential.kid, credential.key_thumbprint) == (expected_kid, expected_kid)
    assert (credential.usage, credential.credential_type) == ("private_key_jwt", "public_key")
    assert credential.alg == "RS256"
    assert credential.pem == public_pem(key)
    assert credential.expires_at is None and credential.thumbprint_sha256 is None


def test_accepts_a_pkcs1_public_key_and_stores_it_as_spki(application):
    key = make_rsa_key()
    credential = add(application, public_pem(key, pkcs1=True))
    assert credential.pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert credential.pem == public_pem(key)


def test_accepts_a_certificate_and_uses_its_public_key(application):
    key = make_rsa_key()
    certificate_pem = make_rsa_certificate(key)
    credential = add(application, certificate_pem, alg="PS256")
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    assert credential.kid == jwk.JWK.from_pem(public_pem(key).encode()).thumbprint()
    assert credential.pem == certificate_pem
    assert credential.thumbprint_sha256 == jwk.base64url_encode(certificate.fingerprint(hashes.SHA256()))
    # Issue 10 (hardening): a key that came as a certificate stops with it, asked or not.
    assert credential.expires_at == certificate.not_valid_after_utc


def test_a_given_expiry_wins_over_the_certificates_not_after(application):
    expires_at = utcnow() + dt.timedelta(days=3)
    credential = add(application, make_rsa_certificate(make_rsa_key(), days_valid=90), expires_at=expires_at)
    assert credential.expires_at == expires_at


def test_takes_the_expiry_from_the_certificate_when_asked(application):
    certificate_pem = make_rsa_certificate(make_rsa_key(), days_valid=90)
    credential = add(application, certificate_pem, parse_expiry_from_cert=True)
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    assert credential.expires_at == certificate.not_valid_after_utc


def test_accepts_pem_with_text_around_it(application):
    """openssl x509 -text and some tools print text before the block."""
    add(application, "Subject: CN=client\nsome notes\n" + make_rsa_certificate(make_rsa_key()) + "\n\n")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "PS256"])
def test_accepts_each_algorithm(application, alg):
    assert add(application, public_pem(make_rsa_key()), alg=alg).alg == alg


def test_accepts_a_user_chosen_kid_and_name_and_expiry(application):
    expires_at = utcnow() + dt.timedelta(days=30)
    credential = add(application, public_pem(make_rsa_key()), kid="my-key_2026-01", name=" Laptop key ",
                     expires_at=expires_at)
    assert (credential.kid, credential.name) == ("my-key_2026-01", "Laptop key")
    assert credential.expires_at == expires_at


def test_accepts_a_4096_bit_key(application):
    add(application, public_pem(make_rsa_key("big", bits=4096)))


def test_two_keys_per_use_and_more_for_another_use(application):
    """At most two credentials per use; JAR keys (another use) are counted apart."""
    for name in ("one", "two"):
        add(application, public_pem(make_rsa_key(name)))
    add(application, public_pem(make_rsa_key("jar-one")), use="jar")
    assert [c.usage for c in list_credentials(application)] == ["private_key_jwt", "private_key_jwt", "jar"]
    assert len(list_credentials(application, "jar")) == 1


def test_credential_document_has_auth0s_fields(application):
    credential = add(application, make_rsa_certificate(make_rsa_key()), parse_expiry_from_cert=True,
                     name="cert")
    document = credential_document(credential)
    assert set(document) == {"id", "name", "kid", "alg", "credential_type", "use", "created_at", "updated_at",
                             "expires_at", "thumbprint_sha256", "subject_dn"}
    assert document["id"].startswith("cred_")
    assert document["created_at"].endswith("Z") and document["expires_at"].endswith("Z")
    assert "pem" not in document
    json.dumps(document)


# --- refused -------------------------------------------------------------------------------------

TRADITIONAL, OPENSSH = serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.OpenSSH


@pytest.mark.parametrize("make_private", [
    lambda: private_pem(make_rsa_key()),                                    # PRIVATE KEY (PKCS#8)
    lambda: private_pem(make_rsa_key(), TRADITIONAL),                       # RSA PRIVATE KEY
    lambda: private_pem(make_ec_key(), TRADITIONAL),                        # EC PRIVATE KEY
    lambda: private_pem(make_rsa_key(), OPENSSH),                           # OPENSSH PRIVATE KEY
    lambda: make_rsa_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"pw")).decode(),  # ENCRYPTED
    lambda: make_rsa_certificate(make_rsa_key()) + private_pem(make_rsa_key()),  # certificate + key bundle
    lambda: jwk.JWK.from_pem(private_pem(make_rsa_key()).encode()).export(private_key=True),  # a private JWK
])
def test_refuses_a_private_key_of_any_kind(application, make_private):
    message = refused(application, make_private())
    assert PRIVATE_KEY_SENTENCE in message
    assert "considered exposed" in message


@pytest.mark.parametrize("pem", [
    "hello",
    "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n",
])
def test_refuses_malformed_pem(application, pem):
    refused(application, pem)


@pytest.mark.parametrize("text", ['{"keys": 5}', "[1]", "null", '{"kty": "RSA", "n": "AQAB", "e": "AQAB"}',
                                  "[" * 8000 + "]" * 8000])
def test_refuses_json_that_is_not_pem_without_an_error(application, text):
    assert "not a PEM public key or certificate" in refused(application, text)


def test_refuses_a_pem_block_without_its_end_line(application):
    refused(application, public_pem(make_rsa_key()).split("-----END")[0])


def test_refuses_binary_der(application):
    der = make_rsa_key().public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    assert "not PEM text" in refused(application, der + b"\xff")


@pytest.mark.parametrize("pem", [
    lambda: public_pem(make_rsa_key("one")) + public_pem(make_rsa_key("two")),
    lambda: make_rsa_certificate(make_rsa_key("one")) + make_rsa_certificate(make_rsa_key("two")),  # a chain
])
def test_refuses_more_than_one_pem_block(application, pem):
    assert "2 PEM blocks" in refused(application, pem())


def test_refuses_another_kind_of_pem_block(application):
    pem = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
    assert "BEGIN X509 CRL block is not accepted" in refused(application, pem)


@pytest.mark.parametrize("make_public, kind", [
    (lambda: public_pem(make_ec_key()), "an EC key"),
    (lambda: public_pem(ed25519.Ed25519PrivateKey.generate()), "an Ed25519 key"),
])
def test_refuses_a_key_that_is_not_rsa(application, make_public, kind):
    assert kind in refused(application, make_public())


def test_refuses_rsa_under_2048_bits(application):
    assert "at least 2048" in refused(application, public_pem(make_rsa_key("small", bits=1024)))


def test_refuses_an_expired_certificate(application):
    assert "expired" in refused(application, make_rsa_certificate(make_rsa_key(), expired=True))


def test_refuses_an_expiry_in_the_past(application):
    message = refused(application, public_pem(make_rsa_key()), expires_at=utcnow() - dt.timedelta(minutes=1))
    assert "in the past" in message


def test_refuses_an_expiry_from_a_bare_public_key(application):
    refused(application, public_pem(make_rsa_key()), parse_expiry_from_cert=True)


def test_refuses_both_an_expiry_and_parse_expiry_from_cert(application):
    refused(application, make_rsa_certificate(make_rsa_key()), parse_expiry_from_cert=True,
            expires_at=utcnow() + dt.timedelta(days=1))


def test_refuses_a_third_credential_for_the_same_use(application):
    add(application, public_pem(make_rsa_key("one")))
    add(application, public_pem(make_rsa_key("two")))
    with pytest.raises(CredentialError, match="already has 2 credentials for private_key_jwt"):
        add_public_key_credential(application, "private_key_jwt", public_pem(make_rsa_key("three")))
    db.session.rollback()
    assert len(list_credentials(application)) == 2


def test_refuses_the_same_key_for_another_use(application):
    """Auth0: never reuse a key pair across credential uses (here Private Key JWT and JAR)."""
    add(application, public_pem(make_rsa_key()))
    with pytest.raises(CredentialError, match="already registered"):
        add_public_key_credential(application, "jar", public_pem(make_rsa_key()))


def test_refuses_the_same_key_for_another_application(app, application):
    add(application, public_pem(make_rsa_key()))
    other_id, _ = make_app(app, name="Other")
    with pytest.raises(CredentialError, match="already registered"):
        add_public_key_credential(find_application(other_id), "private_key_jwt",
                                  public_pem(make_rsa_key(), pkcs1=True))  # the same key in another encoding


def test_refuses_the_same_key_from_its_certificate(application):
    add(application, public_pem(make_rsa_key()))
    with pytest.raises(CredentialError, match="already registered"):
        add_public_key_credential(application, "jar", make_rsa_certificate(make_rsa_key()))


def test_refuses_an_oversized_upload(application):
    assert "too large" in refused(application, public_pem(make_rsa_key()) + " " * 20_000)


@pytest.mark.parametrize("kid", ["short", "has space in it", "x" * 65, "ünïcode-kid-1"])
def test_refuses_a_kid_outside_auth0s_pattern(application, kid):
    assert "10 to 64 characters" in refused(application, public_pem(make_rsa_key()), kid=kid)


def test_refuses_a_kid_another_key_of_the_application_has(application):
    add(application, public_pem(make_rsa_key("one")), kid="same-kid-123")
    with pytest.raises(CredentialError, match="already has the key ID"):
        add_public_key_credential(application, "private_key_jwt", public_pem(make_rsa_key("two")),
                                  kid="same-kid-123")


@pytest.mark.parametrize("alg", ["RS512", "ES256", "HS256", "none"])
def test_refuses_an_algorithm_off_the_list(application, alg):
    assert "RS256, RS384, PS256" in refused(application, public_pem(make_rsa_key()), alg=alg)


def test_refuses_a_use_that_takes_no_public_key(application):
    refused(application, public_pem(make_rsa_key()), use="tls_client_auth")


def test_refuses_a_name_over_128_characters(application):
    refused(application, public_pem(make_rsa_key()), name="n" * 129)


def test_the_database_refuses_a_concurrent_twin(app, application):
    """Two requests that both passed the check: the unique key_thumbprint column stops the second."""
    first = add(application, public_pem(make_rsa_key()))
    twin = Credential(client_pk=application.id, usage="jar", credential_type="public_key", kid="twin-key-id",
                      alg="RS256", pem=first.pem, key_thumbprint=first.key_thumbprint)
    db.session.add(twin)
    with pytest.raises(Exception, match="UNIQUE"):
        db.session.commit()
    db.session.rollback()


# --- rename, expiry, delete ----------------------------------------------------------------------

def test_rename(application):
    credential = add(application, public_pem(make_rsa_key()))
    rename_credential(credential, "CI key")
    db.session.commit()
    assert credential.name == "CI key"
    with pytest.raises(CredentialError):
        rename_credential(credential, "  ")


def test_set_and_clear_the_expiry(application):
    credential = add(application, public_pem(make_rsa_key()))
    expires_at = utcnow() + dt.timedelta(days=7)
    set_credential_expiry(credential, expires_at)
    assert credential.expires_at == expires_at
    set_credential_expiry(credential, None)
    assert credential.expires_at is None
    with pytest.raises(CredentialError, match="in the past"):
        set_credential_expiry(credential, utcnow() - dt.timedelta(seconds=1))


def test_delete(application):
    credential = add(application, public_pem(make_rsa_key()))
    delete_credential(application, credential)
    db.session.commit()
    assert list_credentials(application) == []
    assert db.session.execute(db.select(db.func.count(Credential.id))).scalar_one() == 0


def test_a_deleted_key_may_be_registered_again(application):
    credential = add(application, public_pem(make_rsa_key()))
    delete_credential(application, credential)
    db.session.commit()
    add(application, public_pem(make_rsa_key()))


def test_switching_to_private_key_jwt_needs_a_current_key(application):
    with pytest.raises(ApplicationError, match="register a credential"):
        set_auth_method(application, "private_key_jwt")
    credential = add(application, public_pem(make_rsa_key()))
    credential.expires_at = utcnow() - dt.timedelta(seconds=1)  # as if time had passed
    with pytest.raises(ApplicationError, match="register a credential"):
        set_auth_method(application, "private_key_jwt")
    credential.expires_at = None
    set_auth_method(application, "private_key_jwt")


@pytest.mark.parametrize("text, expected", [
    ("2027-01-31T00:00:00Z", dt.datetime(2027, 1, 31, tzinfo=dt.UTC)),
    ("2027-01-31T02:00:00+02:00", dt.datetime(2027, 1, 31, tzinfo=dt.UTC)),
    ("2027-01-31", dt.datetime(2027, 1, 31, tzinfo=dt.UTC)),
])
def test_parse_expires_at(text, expected):
    assert parse_expires_at(text) == expected


def test_parse_expires_at_refuses_what_is_not_iso_8601():
    with pytest.raises(CredentialError, match="ISO 8601"):
        parse_expires_at("next tuesday")
