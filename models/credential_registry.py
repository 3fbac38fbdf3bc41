"""The credential registry: register, list, change and delete an application's credentials.

One set of operations for every use (models/auth_methods.py USES): public keys for Private Key
JWT and JAR, certificates for self_signed_tls_client_auth, subject DNs for tls_client_auth.
Shared by the dashboard, the command line and the Management API. Each function checks the
upload against the policy (models/credential_uploads.py) and the registry's own rules (two per
use, a key pair registered once) before changing anything, and raises CredentialError with a
sentence for a person; nothing is changed when it raises. Callers commit (the unique
key_thumbprint column still guards against a concurrent twin).
"""
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from models import Credential, db
from models.auth_methods import (
    CERT_SUBJECT_DN,
    JAR,
    KEY_ALGORITHMS,
    MAX_CREDENTIALS_PER_USE,
    PUBLIC_KEY,
    PUBLIC_KEY_USES,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    TLS_CLIENT_AUTH,
    USES,
    X509_CERT,
)
from models.credential import generate_credential_id
from models.credential_uploads import (
    MAX_SUBJECT_DN_CHARS,
    check_certificate_not_expired,
    check_certificate_valid_now,
    check_expiry,
    check_kid,
    check_name,
    distinguished_name_key,
    normalize_issuer_dn,
    normalize_subject_dn,
    parse_certificate_pem,
    parse_distinguished_name,
    parse_public_pem,
    reject_private_key,
)
from models.errors import CredentialError, DuplicateCredentialError
from models.key_material import certificate_thumbprint, jwk_thumbprint, key_thumbprint
from models.timeutil import utcnow


def add_public_key_credential(client, use, pem, alg="RS256", name=None, kid=None, expires_at=None,
                              parse_expiry_from_cert=False) -> Credential:
    """Register a public key (or a certificate's key) for `use`, or for no use yet (None: the Management
    API's "not yet enabled" until referenced); raises CredentialError, storing nothing."""
    now = utcnow()
    if use is not None and USES.get(use) != PUBLIC_KEY:
        raise CredentialError(f"The use {use[:40]} does not take a public key; public keys are for "
                              f"{', '.join(PUBLIC_KEY_USES)}.")
    if alg not in KEY_ALGORITHMS:
        raise CredentialError(f"The algorithm must be one of {', '.join(KEY_ALGORITHMS)}.")
    name = check_name(name)
    parsed = parse_public_pem(pem, now)  # first: a pasted private key must be reported whatever else is wrong
    check_room_for(client, use, PUBLIC_KEY)
    if parse_expiry_from_cert:
        if parsed.certificate is None:
            raise CredentialError("An expiry can be taken only from a certificate; this is a public key.")
        if expires_at is not None:
            raise CredentialError("Give an expiry or take it from the certificate, not both.")
        expires_at = parsed.certificate.not_valid_after_utc
    elif expires_at is None and parsed.certificate is not None:
        # A key that came as a certificate stops with it, unless the person chose another expiry.
        expires_at = parsed.certificate.not_valid_after_utc
    check_expiry(expires_at, now)
    thumbprint = jwk_thumbprint(parsed.public_key)
    check_key_not_registered(thumbprint)
    if kid is None:
        kid = thumbprint
    check_kid(kid)
    check_kid_unique(client, use, kid)
    certificate = parsed.certificate
    credential = Credential(
        id=generate_credential_id(), usage=use, credential_type=PUBLIC_KEY,
        name=name or f"{alg} key added {now:%Y-%m-%d}", kid=kid, alg=alg,
        pem=parsed.pem, key_thumbprint=thumbprint, expires_at=expires_at,
        thumbprint_sha256=certificate_thumbprint(certificate) if certificate is not None else None,
        created_at=now, updated_at=now,
    )
    client.credentials.append(credential)
    return credential


def check_room_for(client, use: str | None, credential_type: str) -> None:
    """At most two credentials per use, so a key can be rotated with no downtime (Auth0's limit);
    and at most two of a type that no use references yet."""
    held = [c for c in client.credentials if c.usage == use and (use or c.credential_type == credential_type)]
    if len(held) >= MAX_CREDENTIALS_PER_USE:
        what = f"for {use}" if use else f"of type {credential_type} that no method uses yet"
        raise CredentialError(f"This application already has {MAX_CREDENTIALS_PER_USE} credentials {what}, "
                              "the most it can hold at once. Delete one before adding another.")


def check_kid_unique(client, use: str | None, kid: str, ignore=None) -> None:
    """A kid names one key among those of a use (among all the public keys while there is no use)."""
    for other in client.credentials:
        if other is not ignore and other.kid == kid and (use is None or other.usage in (use, None)):
            raise CredentialError(f"Another {use or 'public'} key of this application already has the key ID {kid}.")


def check_key_not_registered(thumbprint: str) -> None:
    """A key pair is registered once, for one use of one application (Auth0: never reuse a key pair)."""
    existing = db.session.execute(
        db.select(Credential).where(Credential.key_thumbprint == thumbprint)
    ).scalar_one_or_none()
    if existing is not None:
        raise DuplicateCredentialError("This public key is already registered (for this or another application, or "
                              "another use). Generate a separate key pair for each application and use.")


def rename_credential(credential: Credential, name: str) -> None:
    name = check_name(name)
    if not name:
        raise CredentialError("A credential needs a name.")
    credential.name = name


def set_credential_expiry(credential: Credential, expires_at: datetime | None) -> None:
    """Give the credential an expiry, or clear it with None. Past it, the credential verifies nothing."""
    check_expiry(expires_at, utcnow())
    credential.expires_at = expires_at


def delete_credential(client, credential: Credential) -> None:
    """Remove the credential; assertions signed with its key fail from the moment this commits.

    The last current credential of the method in force (or of required signed requests) is kept
    until it is replaced: without it the application could no longer authenticate at all.
    """
    if credential.client_pk != client.id:
        raise CredentialError("This credential belongs to another application.")
    if is_relied_on(client, credential) and active_credentials(client, credential.usage) == [credential]:
        raise CredentialError(
            f"This is the only current {credential.usage} credential of the application, which "
            f"{'requires signed requests' if credential.usage == JAR else 'authenticates with ' + credential.usage}. "
            "Register and use another credential, or switch the method, before deleting it.")
    client.credentials.remove(credential)
    db.session.delete(credential)


def find_credential(client, credential_id: str) -> Credential | None:
    return next((c for c in client.credentials if c.id == credential_id), None)


def list_credentials(client, use: str | None = None) -> list[Credential]:
    return [c for c in client.credentials if use is None or c.usage == use]


def list_unreferenced_credentials(client) -> list[Credential]:
    """Registered but used by nothing yet (the Management API's "not yet enabled"): they verify nothing."""
    return [c for c in client.credentials if c.usage is None]


def is_relied_on(client, credential: Credential) -> bool:
    """True when the method in force, or required signed requests, use this credential."""
    if credential.usage == JAR:
        return bool(client.require_signed_request_object)
    return credential.usage is not None and credential.usage == client.token_endpoint_auth_method


def reference_credentials(client, use: str, credential_ids: list[str]) -> None:
    """Make exactly these registered credentials the ones `use` relies on (Auth0: the credentials listed
    in client_authentication_methods or signed_request_object). The ones it relied on before and not
    listed stay registered, unreferenced. Raises CredentialError, changing nothing."""
    if len(credential_ids) != len(set(credential_ids)):
        raise CredentialError("A credential is listed twice.")
    if len(credential_ids) > MAX_CREDENTIALS_PER_USE:
        raise CredentialError(f"At most {MAX_CREDENTIALS_PER_USE} credentials can be used for {use} at once.")
    chosen = []
    for index, credential_id in enumerate(credential_ids):
        where = f"credentials[{index}]"
        credential = find_credential(client, credential_id)
        if credential is None:
            owner = "another application" if db.session.get(Credential, credential_id) else "no application"
            raise CredentialError(f"{where}: the credential {credential_id[:40]} belongs to {owner}.")
        if credential.credential_type != USES[use]:
            raise CredentialError(f"{where}: {credential.id} is a {credential.credential_type} credential; "
                                  f"{use} uses {USES[use]} credentials.")
        # A key pair serves one purpose: a JAR key never authenticates the client, and the reverse.
        if credential.usage not in (None, use):
            raise CredentialError(f"{where}: {credential.id} is used for {credential.usage}; "
                                  f"register a separate credential for {use}.")
        chosen.append(credential)
    for credential in chosen:
        if credential.kid:
            check_kid_unique(client, use, credential.kid, ignore=credential)
    for credential in client.credentials:
        if credential.usage == use and credential not in chosen:
            credential.usage = None
    for credential in chosen:
        credential.usage = use


def add_certificate_credential(client, pem, name=None, use: str | None = SELF_SIGNED_TLS_CLIENT_AUTH) -> Credential:
    """self_signed_tls_client_auth (RFC 8705 §2.2): register a certificate, recognised later by the
    SHA-256 thumbprint of its DER form; it expires with the certificate. Raises CredentialError."""
    now = utcnow()
    certificate = parse_certificate_pem(pem)  # first: a pasted private key must be reported whatever else is wrong
    name = check_name(name)
    check_certificate_valid_now(certificate, now)
    check_room_for(client, use, X509_CERT)
    key_id = key_thumbprint(certificate.public_key())
    check_key_not_registered(key_id)
    credential = Credential(
        id=generate_credential_id(), usage=use, credential_type=X509_CERT,
        name=name or f"{_common_name(certificate.subject)} (added {now:%Y-%m-%d})",
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        thumbprint_sha256=certificate_thumbprint(certificate), key_thumbprint=key_id,
        expires_at=certificate.not_valid_after_utc, created_at=now, updated_at=now,
    )
    client.credentials.append(credential)
    return credential


def add_subject_dn_credential(client, subject_dn=None, pem=None, name=None, expires_at=None,
                              use: str | None = TLS_CLIENT_AUTH, issuer_dn=None) -> Credential:
    """tls_client_auth (RFC 8705 §2.1): register a subject DN, typed or taken from a CA-issued
    certificate (whose notAfter is then the expiry, unless one is given, and whose issuer DN is then
    pinned). A typed DN may pin its issuing CA with `issuer_dn`. Raises CredentialError."""
    now = utcnow()
    for upload in (subject_dn, pem):  # first: a pasted private key must be reported whatever else is wrong
        if upload:
            reject_private_key(upload.decode("latin-1") if isinstance(upload, bytes) else upload,
                               "a certificate (or type its subject DN)")
    name = check_name(name)
    subject_dn = subject_dn.strip() if isinstance(subject_dn, str) and subject_dn.strip() else None
    pem = pem or None
    if (subject_dn is None) == (pem is None):
        raise CredentialError("Give either a subject DN or a certificate to take it from, not both."
                              if subject_dn else "Type a subject DN, or upload a certificate to take it from.")
    issuer_dn = issuer_dn.strip() if isinstance(issuer_dn, str) and issuer_dn.strip() else None
    if pem is not None:
        if issuer_dn is not None:
            raise CredentialError("The issuer DN is taken from the uploaded certificate; do not type one as well.")
        certificate = parse_certificate_pem(pem)
        check_certificate_not_expired(certificate, now)
        dn = certificate.subject.rfc4514_string()
        if not certificate.subject.rdns:
            raise CredentialError("This certificate has an empty subject, so there is no DN to register.")
        # RFC 8705 §2.1: the CA that issued this certificate is the one whose certificates count.
        issuer_dn = certificate.issuer.rfc4514_string() if certificate.issuer.rdns else None
        if expires_at is None:
            expires_at = certificate.not_valid_after_utc
    else:
        dn = normalize_subject_dn(subject_dn)
        if issuer_dn is not None:
            issuer_dn = normalize_issuer_dn(issuer_dn)
    for label, value in (("subject", dn), ("issuer", issuer_dn or "")):
        if len(value) > MAX_SUBJECT_DN_CHARS:
            raise CredentialError(f"This {label} DN has {len(value)} characters; at most {MAX_SUBJECT_DN_CHARS} "
                                  "are accepted.")
    check_room_for(client, use, CERT_SUBJECT_DN)
    check_expiry(expires_at, now)
    check_subject_dn_not_registered(client, dn, issuer_dn)
    credential = Credential(id=generate_credential_id(), usage=use, credential_type=CERT_SUBJECT_DN, subject_dn=dn,
                            issuer_dn=issuer_dn, name=name or f"{dn[:100]} (added {now:%Y-%m-%d})",
                            expires_at=expires_at, created_at=now, updated_at=now)
    client.credentials.append(credential)
    return credential


def check_subject_dn_not_registered(client, dn: str, issuer_dn: str | None = None) -> None:
    """A certificate must name one application (RFC 8705 §2.1), so a (subject DN, issuer DN) pair is
    registered once. A DN without an issuer accepts every trusted CA, so it clashes with the same subject
    DN from any issuer on another application.

    Compared as the token endpoint compares DNs, so a DN differing only in case or spacing is the same DN.
    """
    key = _subject_dn_key(dn)
    if key is None:  # it cannot match a certificate (nor clash with another DN)
        return
    issuer = _issuer_key(issuer_dn)
    if any(c.credential_type == CERT_SUBJECT_DN and _subject_dn_key(c.subject_dn) == key
           and _issuer_key(c.issuer_dn) == issuer for c in client.credentials):
        raise DuplicateCredentialError(f"This application already has the subject DN {dn} registered"
                                       + (f" for the issuer {issuer_dn}." if issuer_dn else "."))
    with db.session.no_autoflush:  # the application may be new and half-built (the Management API's create)
        others = db.session.execute(
            db.select(Credential.subject_dn, Credential.issuer_dn).where(
                Credential.credential_type == CERT_SUBJECT_DN, Credential.client_pk != client.id)
        ).all()
    if any(_subject_dn_key(other) == key and _issuers_overlap(issuer, _issuer_key(other_issuer))
           for other, other_issuer in others):
        raise DuplicateCredentialError(f"Another application already has the subject DN {dn} registered"
                                       + (" for this issuer or for any issuer" if issuer_dn else "")
                                       + ". A certificate must identify one application only.")


def _issuer_key(issuer_dn: str | None) -> tuple | None:
    return _subject_dn_key(issuer_dn) if issuer_dn else None


def _issuers_overlap(issuer, other_issuer) -> bool:
    """Whether one CA's certificate can match both (None: any trusted CA)."""
    return issuer is None or other_issuer is None or issuer == other_issuer


def _subject_dn_key(dn: str | None) -> tuple | None:
    try:
        return distinguished_name_key(parse_distinguished_name(dn or ""))
    except ValueError:
        return None


def _common_name(subject: x509.Name) -> str:
    names = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value)[:80] if names else "Certificate"


def active_credentials(client, use: str) -> list[Credential]:
    """The application's credentials for `use` that have not expired: the ones that verify anything."""
    now = utcnow()
    return [c for c in client.credentials if c.usage == use and not c.is_expired(now)]
