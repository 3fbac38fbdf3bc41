"""Key material: thumbprints that identify keys and certificates, and parsed public keys.

- RFC 7638 JWK thumbprints: the default kid, and how a key pair is recognised (registered once);
- RFC 8705 §3.1 certificate thumbprints (x5t#S256): self-signed certificates and bound tokens;
- the public key of a stored credential, parsed once per process;
- which of an application's registered keys may verify a JWS (`select_verification_keys`), for
  client assertions (RFC 7523) and request objects (RFC 9101) alike.
"""
import base64
import enum
import hashlib
import json
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from models.credential import Credential
from models.timeutil import utcnow


def jwk_thumbprint(public_key) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the default kid, and how a key is recognised.

    RSA uses the members e, kty, n; EC (RFC 7638 §3.2) crv, kty, x, y with the coordinates at
    the curve's full length (RFC 7518 §6.2.1.2); Ed25519/Ed448 (RFC 8037 §2) crv, kty, x.
    Raises ValueError for a key with no JWK form (see `key_thumbprint`).
    """
    canonical = json.dumps(_thumbprint_members(public_key), separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


_JWK_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp256k1": "secp256k1"}


def _thumbprint_members(public_key) -> dict:
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name in _JWK_CURVES:
        numbers, size = public_key.public_numbers(), (public_key.curve.key_size + 7) // 8
        return {"crv": _JWK_CURVES[public_key.curve.name], "kty": "EC",
                "x": _b64url(numbers.x.to_bytes(size, "big")), "y": _b64url(numbers.y.to_bytes(size, "big"))}
    for cls, curve in ((ed25519.Ed25519PublicKey, "Ed25519"), (ed448.Ed448PublicKey, "Ed448")):
        if isinstance(public_key, cls):
            raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return {"crv": curve, "kty": "OKP", "x": _b64url(raw)}
    raise ValueError(f"no JWK form for {type(public_key).__name__}")


def key_thumbprint(public_key) -> str:
    """What the unique key_thumbprint column holds: the RFC 7638 thumbprint, or for a key with no
    JWK form (DSA, a brainpool curve) "spki:" and the SHA-256 of its SubjectPublicKeyInfo."""
    try:
        return jwk_thumbprint(public_key)
    except ValueError:
        spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "spki:" + _b64url(hashlib.sha256(spki).digest())


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, base64url: the RFC 8705 x5t#S256 value."""
    return _b64url(certificate.fingerprint(hashes.SHA256()))


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """The public key of a stored credential's PEM (a key or a certificate); no policy checks."""
    data = pem.encode("ascii")
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


_parsed_keys: dict = {}


def public_key_of(credential: Credential) -> rsa.RSAPublicKey:
    """The credential's parsed key, cached per process by (id, updated_at).

    Only the parsing is cached: callers read the credential rows from the database on every
    request, so a deleted or expired credential stops working at once.
    """
    cache_key = (credential.id, credential.updated_at)
    key = _parsed_keys.get(cache_key)
    if key is None:
        if len(_parsed_keys) >= 1024:  # stale entries (renamed, deleted) never get hit again
            _parsed_keys.clear()
        key = _parsed_keys[cache_key] = load_public_key(credential.pem)
    return key


class KeyProblem(enum.Enum):
    """Why no registered key may verify a signature; each caller turns it into its own error."""

    NO_CURRENT_KEY = "no current key for this use"
    UNKNOWN_KID = "the kid names no key for this use"
    EXPIRED_KID = "the kid names an expired key"
    ALG_MISMATCH = "no key (with this kid) is registered for the alg"


@dataclass(frozen=True)
class KeySelection:
    """The keys that may verify a signature, or the problem that leaves none."""

    candidates: list[Credential] = field(default_factory=list)
    problem: KeyProblem | None = None


def select_verification_keys(client, use: str, kid: str | None, alg: str) -> KeySelection:
    """The application's keys for `use` that may verify a JWS with this header kid and alg.

    In order: only current (unexpired) keys; a kid selects among them (without one, each is a
    candidate); the key's registered alg must be the header's (Auth0: a key is used one way only).
    The rows are read on every call, so a deleted or expired key stops working at once.
    """
    now = utcnow()
    registered = [c for c in client.credentials if c.usage == use]
    current = [c for c in registered if not c.is_expired(now)]
    if not current:
        return KeySelection(problem=KeyProblem.NO_CURRENT_KEY)
    named = current if kid is None else [c for c in current if c.kid == kid]
    if not named:
        expired = any(c.kid == kid for c in registered)
        return KeySelection(problem=KeyProblem.EXPIRED_KID if expired else KeyProblem.UNKNOWN_KID)
    candidates = [c for c in named if c.alg == alg]
    return KeySelection(candidates, None if candidates else KeyProblem.ALG_MISMATCH)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))
