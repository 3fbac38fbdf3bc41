"""RFC 8705 §2: mutual-TLS client authentication, behind a TLS-terminating edge.

The TLS handshake happens at the edge; edge.py says which certificate, if any, the request
brought through it (and refuses headers that did not come from the edge). This module
starts from the application the front door loaded and checks that certificate against it.

tls_client_auth (§2.1), in order: the edge verified the chain (SUCCESS); AppCreds verifies
  it again against its own CA bundle when one is configured; the certificate is within its
  validity period; an extended key usage, when present, includes clientAuth; its subject DN
  equals a registered DN, compared RDN by RDN; and when that DN was registered with its
  issuing CA's DN, the certificate's issuer equals it too.
self_signed_tls_client_auth (§2.2): the certificate is within its validity period and its
  SHA-256 thumbprint equals that of a registered certificate. No CA is involved.
The same certificate binds access tokens to the client (§3): see edge.binding_thumbprint.
Each check that passes says so with `passed(...)` for the inspector (blueprints/oauth/inspection.py).
"""
import hmac
import os
from functools import lru_cache

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID
from flask import current_app

from blueprints.oauth.edge import ClientCertificate, presented_certificate
from blueprints.oauth.errors import ClientAuthFailure
from blueprints.oauth.inspection import passed, show_certificate
from models.auth_methods import SELF_SIGNED_TLS_CLIENT_AUTH, TLS_CLIENT_AUTH
from models.credential_registry import active_credentials
from models.credential_uploads import distinguished_name_key, parse_distinguished_name
from models.timeutil import utcnow


def find_certificate_client_id(request) -> str | None:
    """The mTLS mechanism: a certificate header came (trusted or not). RFC 8705 §2: client_id is required."""
    if not presented_certificate().header_present:
        return None
    return request.form.get("client_id") or ""


# --- the two methods -------------------------------------------------------------------------

def authenticate_tls_client_auth(client, request):
    """RFC 8705 §2.1: a CA-issued certificate matched by its subject DN."""
    presented = trusted_certificate()
    if presented is None:
        return None
    # RFC 8705 §2.1: the certificate must chain to a trusted CA. The edge checked first ...
    if presented.edge_verdict != "SUCCESS":
        raise ClientAuthFailure("certificate_not_ca_verified",
                                f"the edge did not verify the certificate chain ({presented.edge_verdict[:80]})")
    passed("the edge verified the certificate chain", expected="SUCCESS", saw=presented.edge_verdict)
    # ... and AppCreds checks again against its own bundle (defence in depth).
    check_chain_to_trusted_ca(presented.certificate)
    check_validity_period(presented.certificate)
    check_extended_key_usage(presented.certificate)
    # RFC 8705 §2.1.2: the subject DN must match the registered one; compared parsed, never as text.
    registered = active_credentials(client, TLS_CLIENT_AUTH)
    if not registered:
        raise ClientAuthFailure("no_current_credential", "the application has no current subject DN")
    certificate = presented.certificate
    same_subject = [c for c in registered if same_distinguished_name(certificate.subject, c.subject_dn)]
    if not same_subject:
        raise ClientAuthFailure("subject_dn_mismatch",
                                "the certificate subject DN matches no registered DN: "
                                + certificate.subject.rfc4514_string()[:200])
    passed("the subject DN equals a registered DN, RDN by RDN (RFC 8705 §2.1.2)",
           saw=", ".join(f"{c.name}: {c.subject_dn}" for c in same_subject))
    # RFC 8705 §2.1: a DN registered with its issuing CA accepts that CA's certificates only.
    if not any(c.issuer_dn is None or same_distinguished_name(certificate.issuer, c.issuer_dn) for c in same_subject):
        raise ClientAuthFailure("issuer_mismatch",
                                "the certificate's issuer is not the CA registered with its subject DN: "
                                + certificate.issuer.rfc4514_string()[:200])
    if any(c.issuer_dn is not None for c in same_subject):
        passed("the issuer is the CA registered with that DN", saw=certificate.issuer.rfc4514_string())
    return client


def authenticate_self_signed_tls_client_auth(client, request):
    """RFC 8705 §2.2: a certificate registered by its thumbprint."""
    presented = trusted_certificate()
    if presented is None:
        return None
    check_validity_period(presented.certificate)
    registered = active_credentials(client, SELF_SIGNED_TLS_CLIENT_AUTH)
    if not registered:
        raise ClientAuthFailure("no_current_credential", "the application has no current certificate")
    # RFC 8705 §2.2: the certificate itself is the credential; compare its thumbprint.
    matching = next((c for c in registered if hmac.compare_digest(presented.thumbprint, c.thumbprint_sha256)), None)
    if matching is None:
        raise ClientAuthFailure("certificate_mismatch", "the certificate is not one registered for the application")
    passed("the certificate's SHA-256 thumbprint matches a registered certificate (RFC 8705 §2.2)",
           saw=f"{matching.name} ({presented.thumbprint})")
    return client


def trusted_certificate() -> ClientCertificate | None:
    """The certificate the edge forwarded, or None when none came (a check then returns None and the
    front door answers not_verified); a header the edge did not vouch for, or could not read, fails."""
    edge = presented_certificate()
    if edge.problem:
        raise ClientAuthFailure(*edge.problem)
    if edge.certificate is not None:
        show_certificate(edge.certificate)
    return edge.certificate


def check_extended_key_usage(certificate: x509.Certificate) -> None:
    """A CA-issued certificate that lists its purposes must list client authentication."""
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    except (ValueError, x509.DuplicateExtension):
        raise ClientAuthFailure("malformed_certificate", "the certificate's extensions do not parse") from None
    # RFC 5280 §4.2.1.12: with the extension present, the certificate is for the purposes it names.
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
        raise ClientAuthFailure("not_for_client_auth",
                                "the certificate's extended key usage does not include clientAuth")
    passed("the extended key usage includes clientAuth (RFC 5280 §4.2.1.12)")


def check_validity_period(certificate: x509.Certificate) -> None:
    now = utcnow()
    if now < certificate.not_valid_before_utc:
        raise ClientAuthFailure("certificate_not_yet_valid", "the client certificate is not yet valid")
    if now > certificate.not_valid_after_utc:
        raise ClientAuthFailure("certificate_expired", "the client certificate has expired")
    passed("the certificate is within its validity period",
           saw=f"{certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d}")


# --- distinguished names and chains ----------------------------------------------------------

def same_distinguished_name(subject: x509.Name, registered_dn: str) -> bool:
    """Equal when both have the same RDNs, in the same order, each with the same attribute set
    (models/credential_uploads.py distinguished_name_key, the rule registration uses too)."""
    try:
        expected = parse_distinguished_name(registered_dn)
    except ValueError:
        return False
    return distinguished_name_key(subject) == distinguished_name_key(expected)


def check_chain_to_trusted_ca(certificate: x509.Certificate) -> None:
    bundle = current_app.config.get("APPCREDS_MTLS_CA_BUNDLE")
    if not bundle:
        return
    store = _load_ca_store(bundle, os.stat(bundle).st_mtime_ns)
    # Client certificates are identified by subject DN here, so no SAN or EKU is required of the leaf.
    verifier = (
        verification.PolicyBuilder().store(store).time(utcnow())
        .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                            ee_policy=verification.ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, [])
    except verification.VerificationError as error:
        raise ClientAuthFailure("certificate_chain_invalid",
                                f"the certificate does not chain to a trusted CA: {str(error)[:120]}") from None
    passed("the chain verifies against AppCreds' own CA bundle (APPCREDS_MTLS_CA_BUNDLE)")


@lru_cache(maxsize=4)
def _load_ca_store(path: str, _mtime_ns: int) -> verification.Store:
    with open(path, "rb") as handle:
        return verification.Store(x509.load_pem_x509_certificates(handle.read()))
