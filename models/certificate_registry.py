"""mTLS credentials (RFC 8705 §2): certificates for self_signed_tls_client_auth and subject DNs
for tls_client_auth. The PEM checks and the rename / expiry / delete operations they share with
public keys live in models/credential_registry.py; like those, each function validates first and
raises CredentialError with a sentence for a person, storing nothing.
"""
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from models import Credential
from models.credential_registry import (
    MIN_RSA_BITS,
    CredentialError,
    certificate_thumbprint,
    check_certificate_not_expired,
    check_expiry,
    check_key_not_registered,
    check_name,
    check_room_for,
    format_utc,
    key_thumbprint,
    load_pem_block,
    read_one_pem_block,
    reject_private_key,
)
from models.timeutil import utcnow

MAX_SUBJECT_DN_CHARS = 256  # Auth0's limit for subject_dn
SELF_SIGNED_USE, SUBJECT_DN_USE = "self_signed_tls_client_auth", "tls_client_auth"
RFC4514_HINT = ("Write it in RFC 4514 form, most specific part first, with no spaces around = and the commas, "
                "for example CN=payments-service,O=Example Corp,C=US (openssl prints it that way with "
                "-nameopt RFC2253).")


def parse_certificate_pem(text) -> x509.Certificate:
    """Exactly one PEM X.509 certificate, with any key type cryptography reads (mTLS keys are often EC)."""
    text, label = read_one_pem_block(text, "certificate", "-----BEGIN CERTIFICATE-----")
    if label != "CERTIFICATE":
        raise CredentialError(f"This is a BEGIN {label[:40]} block, not a certificate. Upload the application's "
                              "X.509 client certificate (BEGIN CERTIFICATE).")
    _public_key, certificate = load_pem_block(text, label)
    public_key = certificate.public_key()
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        raise CredentialError(f"This certificate's RSA key has {public_key.key_size} bits; at least "
                              f"{MIN_RSA_BITS} are required.")
    return certificate


def check_certificate_valid_now(certificate: x509.Certificate, now: datetime) -> None:
    """Within its validity period: a certificate that cannot authenticate today is not registered."""
    check_certificate_not_expired(certificate, now)
    if certificate.not_valid_before_utc > now:
        raise CredentialError(f"This certificate is not valid before {format_utc(certificate.not_valid_before_utc)}. "
                              "Register it once it is valid, or upload a current one.")


def add_certificate_credential(client, pem, name=None) -> Credential:
    """self_signed_tls_client_auth (RFC 8705 §2.2): register a certificate, recognised later by the
    SHA-256 thumbprint of its DER form; it expires with the certificate. Raises CredentialError."""
    now = utcnow()
    certificate = parse_certificate_pem(pem)  # first: a pasted private key must be reported whatever else is wrong
    name = check_name(name)
    check_certificate_valid_now(certificate, now)
    check_room_for(client, SELF_SIGNED_USE)
    key_id = key_thumbprint(certificate.public_key())
    check_key_not_registered(key_id)
    credential = Credential(
        usage=SELF_SIGNED_USE, credential_type="x509_cert", name=name or f"{_common_name(certificate.subject)} "
        f"(added {now:%Y-%m-%d})", pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint_sha256=certificate_thumbprint(certificate), key_thumbprint=key_id,
        expires_at=certificate.not_valid_after_utc, created_at=now, updated_at=now,
    )
    client.credentials.append(credential)
    return credential


def add_subject_dn_credential(client, subject_dn=None, pem=None, name=None, expires_at=None) -> Credential:
    """tls_client_auth (RFC 8705 §2.1): register a subject DN, typed or taken from a CA-issued
    certificate (whose notAfter is then the expiry, unless one is given). Raises CredentialError."""
    now = utcnow()
    for upload in (subject_dn, pem):  # first: a pasted private key must be reported whatever else is wrong
        if upload:
            reject_private_key(upload.decode("latin-1") if isinstance(upload, bytes) else upload)
    name = check_name(name)
    subject_dn = subject_dn.strip() if isinstance(subject_dn, str) and subject_dn.strip() else None
    pem = pem or None
    if (subject_dn is None) == (pem is None):
        raise CredentialError("Give either a subject DN or a certificate to take it from, not both."
                              if subject_dn else "Type a subject DN, or upload a certificate to take it from.")
    if pem is not None:
        certificate = parse_certificate_pem(pem)
        check_certificate_not_expired(certificate, now)
        dn = certificate.subject.rfc4514_string()
        if not certificate.subject.rdns:
            raise CredentialError("This certificate has an empty subject, so there is no DN to register.")
        if expires_at is None:
            expires_at = certificate.not_valid_after_utc
    else:
        dn = normalize_subject_dn(subject_dn)
    if len(dn) > MAX_SUBJECT_DN_CHARS:
        raise CredentialError(f"This subject DN has {len(dn)} characters; at most {MAX_SUBJECT_DN_CHARS} "
                              "are accepted.")
    check_room_for(client, SUBJECT_DN_USE)
    check_expiry(expires_at, now)
    if any(c.subject_dn == dn for c in client.credentials if c.usage == SUBJECT_DN_USE):
        raise CredentialError(f"This application already has the subject DN {dn} registered.")
    credential = Credential(usage=SUBJECT_DN_USE, credential_type="cert_subject_dn", subject_dn=dn,
                            name=name or f"{dn[:100]} (added {now:%Y-%m-%d})", expires_at=expires_at,
                            created_at=now, updated_at=now)
    client.credentials.append(credential)
    return credential


def normalize_subject_dn(text: str) -> str:
    """A typed DN, parsed (x509.Name.from_rfc4514_string) and written back in normalised RFC 4514 form."""
    if "-----BEGIN" in text:
        raise CredentialError("This is PEM text, not a subject DN. Upload the certificate instead, and its "
                              "subject DN is taken from it.")
    if len(text) > MAX_SUBJECT_DN_CHARS:
        raise CredentialError(f"A subject DN may have at most {MAX_SUBJECT_DN_CHARS} characters; this one has "
                              f"{len(text)}.")
    try:
        parsed = x509.Name.from_rfc4514_string(text)
    except ValueError as error:
        detail = f" ({str(error).rstrip('.')})" if str(error) else ""
        raise CredentialError(f"This subject DN does not parse{detail}. {RFC4514_HINT}") from None
    if not parsed.rdns:
        raise CredentialError(f"A subject DN needs at least one attribute. {RFC4514_HINT}")
    return parsed.rfc4514_string()


def _common_name(subject: x509.Name) -> str:
    names = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value)[:80] if names else "Certificate"
