"""RFC 8705 §2: mutual-TLS client authentication, behind a TLS-terminating edge.

The TLS handshake happens at the edge (nginx, see deploy/nginx/), which forwards the leaf
certificate as URL-encoded PEM in a header, with its own CA-verification verdict and a
shared edge secret (Auth0's customer-edge contract). Those headers are believed only when
the edge secret matches and, if configured, the request came from a trusted proxy address;
otherwise anyone could forge them.

tls_client_auth (§2.1), in order: the edge verified the chain (SUCCESS); AppCreds verifies
  it again against its own CA bundle when one is configured; the certificate is within its
  validity period; its subject DN equals a registered DN, compared RDN by RDN.
self_signed_tls_client_auth (§2.2): the certificate is within its validity period and its
  SHA-256 thumbprint equals that of a registered certificate. No CA is involved.
The same certificate binds access tokens to the client (§3): see `binding_thumbprint`.
"""
import hmac
import ipaddress
import os
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509 import verification
from flask import current_app, g
from flask import request as http_request

from blueprints.oauth.client_auth import Mechanism
from blueprints.oauth.errors import ClientAuthFailure, ClientRequestError
from models.credential_registry import active_credentials
from models.key_material import certificate_thumbprint
from models.timeutil import utcnow

MAX_CERTIFICATE_HEADER_BYTES = 4096  # Auth0's edge contract: the leaf only, at most 4096 bytes


@dataclass(frozen=True)
class ClientCertificate:
    certificate: x509.Certificate
    thumbprint: str    # RFC 8705 §3.1 x5t#S256: base64url of SHA-256 of the DER certificate
    edge_verdict: str  # the edge's CA verification: SUCCESS, NONE or FAILED:<reason>


@dataclass(frozen=True)
class EdgeResult:
    """What the request carries: no certificate header, a trusted certificate, or a problem."""

    header_present: bool = False
    certificate: ClientCertificate | None = None
    problem: tuple[str, str] | None = None  # (reason_code, reason) when present but not usable


def presented_certificate() -> EdgeResult:
    """Read the edge's certificate headers once per request."""
    if "appcreds_edge" not in g:
        g.appcreds_edge = _read_edge_headers()
    return g.appcreds_edge


def _read_edge_headers() -> EdgeResult:
    config = current_app.config
    values = http_request.headers.getlist(config["APPCREDS_MTLS_CERT_HEADER"])
    if not values:
        return EdgeResult()
    if not _request_came_through_edge():
        return EdgeResult(True, problem=("untrusted_certificate_source",
                                         "client certificate header from an untrusted source"))
    # RFC 7230 §3.2.2: one header, one value; two copies means someone added one.
    if len(values) > 1:
        return EdgeResult(True, problem=("malformed_certificate_header", "the certificate header was sent twice"))
    raw = values[0]
    if len(raw.encode("latin-1", "replace")) > MAX_CERTIFICATE_HEADER_BYTES:
        return EdgeResult(True, problem=("malformed_certificate_header",
                                         f"the certificate header exceeds {MAX_CERTIFICATE_HEADER_BYTES} bytes"))
    certificate, problem = _parse_forwarded_pem(raw)
    if problem:
        return EdgeResult(True, problem=("malformed_certificate_header", problem))
    verdict = http_request.headers.get(config["APPCREDS_MTLS_VERIFIED_HEADER"], "NONE")
    return EdgeResult(True, ClientCertificate(certificate, certificate_thumbprint(certificate), verdict))


def _request_came_through_edge() -> bool:
    """The edge secret matches (constant time) and the sender is a trusted proxy, if any are listed."""
    config = current_app.config
    expected = config.get("APPCREDS_EDGE_SECRET") or ""
    sent = http_request.headers.get(config["APPCREDS_EDGE_SECRET_HEADER"], "")
    if not expected or not hmac.compare_digest(sent.encode("latin-1", "replace"), expected.encode()):
        return False
    proxies = _trusted_proxies(config.get("APPCREDS_TRUSTED_PROXIES") or "")
    if not proxies:
        return True
    # The socket peer, even when ProxyFix has replaced REMOTE_ADDR with a forwarded address.
    environ = http_request.environ
    peer = environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or environ.get("REMOTE_ADDR", "")
    try:
        sender = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(sender in network for network in proxies)


@lru_cache(maxsize=8)
def _trusted_proxies(setting: str) -> tuple:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in setting.split(",") if item.strip())


def _parse_forwarded_pem(raw: str) -> tuple[x509.Certificate | None, str | None]:
    """nginx's $ssl_client_escaped_cert: URL-encoded PEM of exactly one certificate."""
    try:
        pem = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return None, "the certificate header is not URL-encoded PEM"
    if pem.count("-----BEGIN CERTIFICATE-----") != 1:
        if "-----BEGIN" not in pem:
            return None, "the certificate header is not URL-encoded PEM"
        return None, "the certificate header must hold exactly one certificate (the leaf), not a chain"
    try:
        return x509.load_pem_x509_certificate(pem.encode()), None
    except (ValueError, UnicodeError):
        return None, "the certificate header does not hold a readable X.509 certificate"


def binding_thumbprint() -> str | None:
    """RFC 8705 §3: the x5t#S256 of the trusted client certificate on this request, if any."""
    edge = presented_certificate()
    return edge.certificate.thumbprint if edge.certificate else None


def check_edge_problem_for_binding() -> None:
    """A certificate header that came through the edge but cannot be read is refused, never ignored."""
    edge = presented_certificate()
    if edge.problem and edge.problem[0] == "malformed_certificate_header":
        raise ClientRequestError("malformed_certificate_header", edge.problem[1])


# --- the two methods -------------------------------------------------------------------------

def _certificate_for(request) -> ClientCertificate | None:
    edge = presented_certificate()
    if edge.problem:
        raise ClientAuthFailure(*edge.problem)
    return edge.certificate


def check_validity_period(certificate: x509.Certificate) -> None:
    now = utcnow()
    if now < certificate.not_valid_before_utc:
        raise ClientAuthFailure("certificate_not_yet_valid", "the client certificate is not yet valid")
    if now > certificate.not_valid_after_utc:
        raise ClientAuthFailure("certificate_expired", "the client certificate has expired")


def authenticate_tls_client_auth(query_client, request):
    """Hook for Authlib: RFC 8705 §2.1, a CA-issued certificate matched by its subject DN."""
    presented = _certificate_for(request)
    if presented is None:
        return None
    client = query_client(request.form.get("client_id") or "")
    if client is None:
        raise ClientAuthFailure("unknown_client", "no application has this client id (unknown or deleted)")
    # RFC 8705 §2.1: the certificate must chain to a trusted CA. The edge checked first ...
    if presented.edge_verdict != "SUCCESS":
        raise ClientAuthFailure("certificate_not_ca_verified",
                                f"the edge did not verify the certificate chain ({presented.edge_verdict[:80]})")
    # ... and AppCreds checks again against its own bundle (defence in depth).
    check_chain_to_trusted_ca(presented.certificate)
    check_validity_period(presented.certificate)
    # RFC 8705 §2.1.2: the subject DN must match the registered one; compared parsed, never as text.
    registered = [c.subject_dn for c in active_credentials(client, "tls_client_auth")]
    if not registered:
        raise ClientAuthFailure("no_current_credential", "the application has no current subject DN")
    if not any(same_distinguished_name(presented.certificate.subject, dn) for dn in registered):
        raise ClientAuthFailure("subject_dn_mismatch",
                                "the certificate subject DN matches no registered DN: "
                                + presented.certificate.subject.rfc4514_string()[:200])
    return client


def authenticate_self_signed_tls_client_auth(query_client, request):
    """Hook for Authlib: RFC 8705 §2.2, a certificate registered by its thumbprint."""
    presented = _certificate_for(request)
    if presented is None:
        return None
    client = query_client(request.form.get("client_id") or "")
    if client is None:
        raise ClientAuthFailure("unknown_client", "no application has this client id (unknown or deleted)")
    check_validity_period(presented.certificate)
    registered = [c.thumbprint_sha256 for c in active_credentials(client, "self_signed_tls_client_auth")]
    if not registered:
        raise ClientAuthFailure("no_current_credential", "the application has no current certificate")
    # RFC 8705 §2.2: the certificate itself is the credential; compare its thumbprint.
    if not any(hmac.compare_digest(presented.thumbprint, thumbprint) for thumbprint in registered):
        raise ClientAuthFailure("certificate_mismatch", "the certificate is not one registered for the application")
    return client


# --- distinguished names and chains ----------------------------------------------------------

def _normalized_rdn(rdn: x509.RelativeDistinguishedName) -> frozenset:
    """An RDN as a set of (attribute OID, value): case-folded, inner whitespace collapsed
    (the spirit of RFC 4518 string preparation for caseIgnoreMatch)."""
    return frozenset(
        (attribute.oid.dotted_string, " ".join(str(attribute.value).split()).casefold()) for attribute in rdn
    )


def same_distinguished_name(subject: x509.Name, registered_dn: str) -> bool:
    """Equal when both have the same RDNs, in the same order, each with the same attribute set."""
    try:
        expected = x509.Name.from_rfc4514_string(registered_dn)
    except ValueError:
        return False
    if len(subject.rdns) != len(expected.rdns):
        return False
    return all(_normalized_rdn(a) == _normalized_rdn(b) for a, b in zip(subject.rdns, expected.rdns, strict=True))


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


@lru_cache(maxsize=4)
def _load_ca_store(path: str, _mtime_ns: int) -> verification.Store:
    with open(path, "rb") as handle:
        return verification.Store(x509.load_pem_x509_certificates(handle.read()))


def _certificate_client_id(request):
    """The mTLS mechanism: a certificate header came (trusted or not). RFC 8705 §2: client_id is required."""
    if not presented_certificate().header_present:
        return None
    return request.form.get("client_id") or ""


MECHANISMS = [
    Mechanism("mtls", ("tls_client_auth", "self_signed_tls_client_auth"), _certificate_client_id, explicit=False)
]
HOOKS = {
    "tls_client_auth": authenticate_tls_client_auth,
    "self_signed_tls_client_auth": authenticate_self_signed_tls_client_auth,
}
