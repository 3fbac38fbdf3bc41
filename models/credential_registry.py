"""Register, list, change and delete an application's credentials (models/credential.py).

Certificates and subject DNs for mTLS are registered by models/certificate_registry.py, with the
PEM checks and operations here.

Shared by the dashboard, the CLI and (later) the Management API, for every use that takes a
public key: Private Key JWT today, JAR (`use="jar"`) with the same rules; the PEM parsing and
checks are meant for mTLS certificates too. Each function validates everything first and
raises CredentialError with a sentence for a person; nothing is changed when it raises.
Callers commit (the unique key_thumbprint column still guards against a concurrent twin).
"""
import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from models import Credential, db
from models.applications import ApplicationError
from models.credential import KEY_ALGORITHMS, MAX_CREDENTIALS_PER_USE, USES
from models.timeutil import utcnow

MAX_PEM_BYTES = 16 * 1024  # a 8192-bit certificate is about 3 KB; nothing legitimate comes near this
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192        # larger keys only make every verification slower
KID_PATTERN = re.compile(r"[0-9a-zA-Z_-]{10,64}")  # Auth0's pattern for a caller-chosen kid
ACCEPTED_LABELS = ("PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE")
_BEGIN_LINE = re.compile(r"-----BEGIN ([^-\r\n]*)-----")
_KEY_TYPE_NAMES = ((ec.EllipticCurvePublicKey, "an EC"), (ed25519.Ed25519PublicKey, "an Ed25519"),
                   (ed448.Ed448PublicKey, "an Ed448"), (dsa.DSAPublicKey, "a DSA"))


class CredentialError(ApplicationError):
    """A credential that cannot be registered or changed, with a sentence that says why."""


@dataclass(frozen=True)
class ParsedPem:
    public_key: rsa.RSAPublicKey
    certificate: x509.Certificate | None
    pem: str  # what is stored: the certificate, or the key as SPKI ("BEGIN PUBLIC KEY")


# --- parsing and checking an upload ----------------------------------------------------------

def parse_public_pem(text, now=None) -> ParsedPem:
    """Parse one PEM public key or X.509 certificate holding an RSA key of 2048 to 8192 bits."""
    text, label = read_one_pem_block(text, "public key or certificate",
                                      "-----BEGIN PUBLIC KEY----- or -----BEGIN CERTIFICATE-----")
    if label not in ACCEPTED_LABELS:
        raise CredentialError(f"A BEGIN {label[:40]} block is not accepted. Upload a public key "
                              "(BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY) or an X.509 certificate "
                              "(BEGIN CERTIFICATE).")
    public_key, certificate = load_pem_block(text, label)
    check_rsa_key(public_key)
    if certificate is not None:
        check_certificate_not_expired(certificate, now or utcnow())
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    else:
        pem = public_key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return ParsedPem(public_key, certificate, pem)


def read_one_pem_block(text, what: str, begin_lines: str) -> tuple[str, str]:
    """The upload as text and the label of its one PEM block; refuses non-text, oversized uploads,
    private keys (before anything else is said about the upload) and zero or several blocks."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise CredentialError(f"The upload is not PEM text. Upload a PEM file, which starts with "
                                  f"{begin_lines}.") from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PEM_BYTES:
        raise CredentialError(f"The upload is too large ({size} bytes); a {what} is at "
                              f"most {MAX_PEM_BYTES} bytes.")
    reject_private_key(text)
    labels = _BEGIN_LINE.findall(text)
    if not labels:
        raise CredentialError(f"This is not a PEM {what}. Paste the whole PEM text, from {begin_lines} "
                              "to the END line.")
    if len(labels) > 1:
        raise CredentialError(f"The upload holds {len(labels)} PEM blocks. Upload exactly one {what} "
                              "(not a chain, not several).")
    return text, labels[0]


def reject_private_key(text: str) -> None:
    """Raise when the upload holds private key material of any kind (PEM, OpenSSH, PuTTY, JWK)."""
    if re.search(r"PRIVATE KEY", text, re.IGNORECASE) or "Private-Lines:" in text or _is_private_jwk(text):
        raise CredentialError(
            "This is a private key. Upload only the public key (or a certificate): the private key must "
            "never leave the application. A private key that has been pasted or uploaded anywhere should "
            "be considered exposed: generate a new key pair and register its public key instead.")


def _is_private_jwk(text: str) -> bool:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return False
    keys = document.get("keys", [document]) if isinstance(document, dict) else []
    if not isinstance(keys, list):
        keys = [keys]
    # RFC 7518 §6.3.2 and §6.4: d, p, q (RSA and EC private parts) and k (a symmetric key).
    return any(isinstance(key, dict) and bool({"d", "p", "q", "k"} & key.keys()) for key in keys)


def load_pem_block(text: str, label: str):
    """(public key, certificate or None) from the one PEM block; malformed -> CredentialError."""
    match = re.search(rf"-----BEGIN {label}-----.*?-----END {label}-----", text, re.DOTALL)
    try:
        if match is None:
            raise ValueError("no END line")
        block = match.group(0).encode("ascii")
        if label == "CERTIFICATE":
            certificate = x509.load_pem_x509_certificate(block)
            return certificate.public_key(), certificate
        return serialization.load_pem_public_key(block), None
    except (ValueError, UnicodeEncodeError):
        what = "certificate" if label == "CERTIFICATE" else "public key"
        raise CredentialError(f"The PEM {what} could not be read; it may have been cut or changed while "
                              "copying. Paste the whole block, BEGIN and END lines included.") from None


def check_rsa_key(public_key) -> None:
    """Only RSA keys of 2048 to 8192 bits: RS256, RS384 and PS256 are RSA algorithms."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        kind = next((name for cls, name in _KEY_TYPE_NAMES if isinstance(public_key, cls)), "a non-RSA")
        raise CredentialError(f"This is {kind} key. Only RSA keys are accepted (for RS256, RS384 or PS256).")
    bits = public_key.key_size
    if bits < MIN_RSA_BITS:
        raise CredentialError(f"This RSA key has {bits} bits; at least {MIN_RSA_BITS} are required.")
    if bits > MAX_RSA_BITS:
        raise CredentialError(f"This RSA key has {bits} bits; at most {MAX_RSA_BITS} are accepted.")


def check_certificate_not_expired(certificate: x509.Certificate, now: datetime) -> None:
    if certificate.not_valid_after_utc <= now:
        raise CredentialError(f"This certificate expired on {format_utc(certificate.not_valid_after_utc)}. "
                              "Upload a current certificate or its public key.")


def check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise CredentialError("The expiry must say its time zone (for example 2027-01-31T00:00:00Z).")
    if expires_at <= now:
        raise CredentialError(f"The expiry {format_utc(expires_at)} is in the past; choose a future date or none.")


def check_kid(kid: str) -> None:
    if not KID_PATTERN.fullmatch(kid):
        raise CredentialError("A key ID (kid) must have 10 to 64 characters, each a letter, a digit, - or _.")


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


# --- operations ------------------------------------------------------------------------------

def add_public_key_credential(client, use, pem, alg="RS256", name=None, kid=None, expires_at=None,
                              parse_expiry_from_cert=False) -> Credential:
    """Register a public key (or a certificate's key) for `use`; raises CredentialError, storing nothing."""
    now = utcnow()
    if USES.get(use) != "public_key":
        raise CredentialError(f"The use {use[:40]} does not take a public key; public keys are for "
                              f"{', '.join(u for u, t in USES.items() if t == 'public_key')}.")
    if alg not in KEY_ALGORITHMS:
        raise CredentialError(f"The algorithm must be one of {', '.join(KEY_ALGORITHMS)}.")
    name = check_name(name)
    parsed = parse_public_pem(pem, now)  # first: a pasted private key must be reported whatever else is wrong
    check_room_for(client, use)
    if parse_expiry_from_cert:
        if parsed.certificate is None:
            raise CredentialError("An expiry can be taken only from a certificate; this is a public key.")
        if expires_at is not None:
            raise CredentialError("Give an expiry or take it from the certificate, not both.")
        expires_at = parsed.certificate.not_valid_after_utc
    check_expiry(expires_at, now)
    thumbprint = jwk_thumbprint(parsed.public_key)
    check_key_not_registered(thumbprint)
    if kid is None:
        kid = thumbprint
    check_kid(kid)
    if any(c.kid == kid for c in client.credentials if c.usage == use):
        raise CredentialError(f"Another {use} key of this application already has the key ID {kid}.")
    certificate = parsed.certificate
    credential = Credential(
        usage=use, credential_type="public_key", name=name or f"{alg} key added {now:%Y-%m-%d}", kid=kid,
        alg=alg, pem=parsed.pem, key_thumbprint=thumbprint, expires_at=expires_at,
        thumbprint_sha256=certificate_thumbprint(certificate) if certificate is not None else None,
        created_at=now, updated_at=now,
    )
    client.credentials.append(credential)
    return credential


def check_room_for(client, use: str) -> None:
    """At most two credentials per use, so a key can be rotated with no downtime (Auth0's limit)."""
    if sum(1 for c in client.credentials if c.usage == use) >= MAX_CREDENTIALS_PER_USE:
        raise CredentialError(f"This application already has {MAX_CREDENTIALS_PER_USE} credentials for "
                              f"{use}, the most it can hold at once. Delete one before adding another.")


def check_key_not_registered(thumbprint: str) -> None:
    """A key pair is registered once, for one use of one application (Auth0: never reuse a key pair)."""
    existing = db.session.execute(
        db.select(Credential).where(Credential.key_thumbprint == thumbprint)
    ).scalar_one_or_none()
    if existing is not None:
        raise CredentialError("This public key is already registered (for this or another application, or "
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
    """Remove the credential; assertions signed with its key fail from the moment this commits."""
    if credential.client_pk != client.id:
        raise CredentialError("This credential belongs to another application.")
    client.credentials.remove(credential)
    db.session.delete(credential)


def find_credential(client, credential_id: str) -> Credential | None:
    return next((c for c in client.credentials if c.id == credential_id), None)


def list_credentials(client, use: str | None = None) -> list[Credential]:
    return [c for c in client.credentials if use is None or c.usage == use]


def parse_expires_at(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a time zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CredentialError(f"{text[:40]!r} is not an ISO 8601 date, for example "
                              "2027-01-31T00:00:00Z.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def credential_document(credential: Credential) -> dict:
    """The credential as Auth0's credential responses show it (plus `use`); never any secret."""
    document = {
        "id": credential.id, "name": credential.name, "kid": credential.kid, "alg": credential.alg,
        "credential_type": credential.credential_type, "use": credential.usage,
        "created_at": _iso(credential.created_at), "updated_at": _iso(credential.updated_at),
        "expires_at": _iso(credential.expires_at),
    }
    if credential.thumbprint_sha256:
        document["thumbprint_sha256"] = credential.thumbprint_sha256
    if credential.subject_dn:
        document["subject_dn"] = credential.subject_dn
    return document


# --- small helpers -----------------------------------------------------------------------------

def check_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > 128:
        raise CredentialError("A credential name may have at most 128 characters.")
    return name


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
