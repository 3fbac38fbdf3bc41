"""The trusted edge: which client certificate, if any, a request brought through it.

TLS ends at an edge in front of AppCreds (nginx, see deploy/nginx/). The edge asks for a
client certificate and forwards the leaf as URL-encoded PEM in a header, with its own
CA-verification verdict and a shared edge secret (Auth0's customer-edge contract). Anyone can
send those headers, so `presented_certificate` believes them only when, in order:
1. the edge secret matches (constant time) and, if APPCREDS_TRUSTED_PROXIES lists any, the
   socket peer is one of them;
2. the certificate header came once, at most 4096 bytes;
3. it holds exactly one URL-encoded PEM certificate that parses.
The answer is read once per request. Three parts of AppCreds ask it: mTLS client
authentication (client_auth/mtls.py, RFC 8705 §2), certificate-bound tokens (grants.py,
RFC 8705 §3) and the demo resource server (blueprints/demo_api/, RFC 8705 §3.2).

The edge's X-Forwarded-* headers (the client's address, the scheme) are believed the same way:
`TrustedProxyFix` applies Werkzeug's ProxyFix only to requests whose socket peer is one of
APPCREDS_TRUSTED_PROXIES, so a client that connects directly cannot spoof either.
"""
import hmac
import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from cryptography import x509
from flask import current_app, g
from flask import request as http_request
from werkzeug.middleware.proxy_fix import ProxyFix

from blueprints.oauth.errors import ClientRequestError
from blueprints.oauth.inspection import passed
from models.key_material import certificate_thumbprint

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
    """The certificate this request brought through the trusted edge, if any; read once per request."""
    if "appcreds_edge" not in g:
        g.appcreds_edge = _read_edge_headers()
    return g.appcreds_edge


def _read_edge_headers() -> EdgeResult:
    config = current_app.config
    # Most requests bring no certificate: one look in the WSGI environ says so, where reading the
    # header through request.headers walks every header (about 15 µs per token).
    if _environ_key(config["APPCREDS_MTLS_CERT_HEADER"]) not in http_request.environ:
        return EdgeResult()
    values = http_request.headers.getlist(config["APPCREDS_MTLS_CERT_HEADER"])
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
    passed("the edge forwarded one certificate, once, that parses",
           expected=f"at most {MAX_CERTIFICATE_HEADER_BYTES} bytes of URL-encoded PEM")
    verdict = http_request.headers.get(config["APPCREDS_MTLS_VERIFIED_HEADER"], "NONE")
    return EdgeResult(True, ClientCertificate(certificate, certificate_thumbprint(certificate), verdict))


@lru_cache(maxsize=8)
def _environ_key(header: str) -> str:
    """Where a WSGI server puts a request header in the environ (PEP 3333: HTTP_ and the name,
    upper case, dashes as underscores)."""
    return "HTTP_" + header.upper().replace("-", "_")


def _request_came_through_edge() -> bool:
    """The edge secret matches (constant time) and the sender is a trusted proxy, if any are listed."""
    config = current_app.config
    expected = config.get("APPCREDS_EDGE_SECRET") or ""
    sent = http_request.headers.get(config["APPCREDS_EDGE_SECRET_HEADER"], "")
    if not expected or not hmac.compare_digest(sent.encode("latin-1", "replace"), expected.encode()):
        return False
    passed("the edge secret matches (constant-time comparison)")
    proxies = _trusted_proxies(config.get("APPCREDS_TRUSTED_PROXIES") or "")
    if not proxies:
        return True
    # The socket peer, even when ProxyFix has replaced REMOTE_ADDR with a forwarded address.
    environ = http_request.environ
    peer = environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or environ.get("REMOTE_ADDR", "")
    if not is_trusted_proxy(peer, proxies):
        return False
    passed("the sender is a trusted proxy (APPCREDS_TRUSTED_PROXIES)", saw=peer)
    return True


class TrustedProxyFix:
    """WSGI middleware: ProxyFix with `hops` for requests from a trusted proxy, nothing for the others."""

    def __init__(self, wsgi_app, hops: int, trusted_proxies: str):
        self.wsgi_app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
        self.proxies = _trusted_proxies(trusted_proxies)

    def __call__(self, environ, start_response):
        if is_trusted_proxy(environ.get("REMOTE_ADDR", ""), self.proxies):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)


def is_trusted_proxy(address: str, proxies: tuple) -> bool:
    try:
        sender = ipaddress.ip_address(address)
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


# --- for certificate-bound tokens (RFC 8705 §3) -------------------------------------------------

def binding_thumbprint() -> str | None:
    """RFC 8705 §3: the x5t#S256 of the trusted client certificate on this request, if any."""
    edge = presented_certificate()
    return edge.certificate.thumbprint if edge.certificate else None


def check_edge_problem_for_binding() -> None:
    """A certificate header that came through the edge but cannot be read is refused, never ignored."""
    edge = presented_certificate()
    if edge.problem and edge.problem[0] == "malformed_certificate_header":
        raise ClientRequestError("malformed_certificate_header", edge.problem[1])
