"""The upload policy: what a PEM, a subject DN, a kid, a name or an expiry may be.

Every door (the dashboard's forms, the command line, the Management API) hands an upload to
these functions before anything is registered (models/credential_registry.py). Each raises
CredentialError with a sentence for a person. A private key is refused first, whatever else is
wrong with the upload: it must never be stored, and the person must hear that it is exposed.
"""
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from models.errors import CredentialError
from models.timeutil import utcnow

MAX_PEM_BYTES = 16 * 1024  # a 8192-bit certificate is about 3 KB; nothing legitimate comes near this
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192        # larger keys only make every verification slower
KID_PATTERN = re.compile(r"[0-9a-zA-Z_-]{10,64}")  # Auth0's pattern for a caller-chosen kid
ACCEPTED_LABELS = ("PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE")
_BEGIN_LINE = re.compile(r"-----BEGIN ([^-\r\n]*)-----")
_KEY_TYPE_NAMES = ((ec.EllipticCurvePublicKey, "an EC"), (ed25519.Ed25519PublicKey, "an Ed25519"),
                   (ed448.Ed448PublicKey, "an Ed448"), (dsa.DSAPublicKey, "a DSA"))


@dataclass(frozen=True)
class ParsedPem:
    public_key: rsa.RSAPublicKey
    certificate: x509.Certificate | None
    pem: str  # what is stored: the certificate, or the key as SPKI ("BEGIN PUBLIC KEY")


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
    reject_private_key(text, "the public key (or a certificate)" if "public key" in what else f"a {what}")
    labels = _BEGIN_LINE.findall(text)
    if not labels:
        raise CredentialError(f"This is not a PEM {what}. Paste the whole PEM text, from {begin_lines} "
                              "to the END line.")
    if len(labels) > 1:
        raise CredentialError(f"The upload holds {len(labels)} PEM blocks. Upload exactly one {what} "
                              "(not a chain, not several).")
    return text, labels[0]


def reject_private_key(text: str, expected: str = "the public key (or a certificate)") -> None:
    """Raise when the upload holds private key material of any kind (PEM, OpenSSH, PuTTY, JWK);
    the sentence says what to upload instead (`expected`: what the box takes)."""
    if re.search(r"PRIVATE KEY", text, re.IGNORECASE) or "Private-Lines:" in text or _is_private_jwk(text):
        raise CredentialError(
            f"This is a private key. Upload only {expected}: the private key must "
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


def parse_expires_at(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a time zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CredentialError(f"{text[:40]!r} is not an ISO 8601 date, for example "
                              "2027-01-31T00:00:00Z.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > 128:
        raise CredentialError("A credential name may have at most 128 characters.")
    return name


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


MAX_SUBJECT_DN_CHARS = 256  # Auth0's limit for subject_dn
RFC4514_HINT = ("Write it in RFC 4514 form, most specific part first, "
                "for example CN=payments-service,O=Example Corp,C=US (openssl prints it that way with "
                "-nameopt RFC2253).")
# Attribute types openssl prints that cryptography's RFC 4514 parser does not name.
EXTRA_ATTRIBUTE_TYPES = {"EMAILADDRESS": x509.NameOID.EMAIL_ADDRESS, "SERIALNUMBER": x509.NameOID.SERIAL_NUMBER}
_OID_TYPE = re.compile(r"(?:oid\.)?((?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))+)", re.IGNORECASE)


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


def normalize_subject_dn(text: str) -> str:
    """A typed DN, parsed (x509.Name.from_rfc4514_string) and written back in normalised RFC 4514 form."""
    if "-----BEGIN" in text:
        raise CredentialError("This is PEM text, not a subject DN. Upload the certificate instead, and its "
                              "subject DN is taken from it.")
    if len(text) > MAX_SUBJECT_DN_CHARS:
        raise CredentialError(f"A subject DN may have at most {MAX_SUBJECT_DN_CHARS} characters; this one has "
                              f"{len(text)}.")
    try:
        parsed = parse_distinguished_name(text)
    except ValueError as error:
        detail = f" ({str(error).rstrip('.')})" if str(error) else ""
        raise CredentialError(f"This subject DN does not parse{detail}. {RFC4514_HINT}") from None
    if not parsed.rdns:
        raise CredentialError(f"A subject DN needs at least one attribute. {RFC4514_HINT}")
    return parsed.rfc4514_string()


def normalize_issuer_dn(text: str) -> str:
    """A typed issuer DN (the CA a tls_client_auth certificate must come from), read as a subject DN is."""
    try:
        return normalize_subject_dn(text)
    except CredentialError as error:
        raise CredentialError(str(error).replace("subject DN", "issuer DN")) from None


def parse_distinguished_name(text: str) -> x509.Name:
    """A DN string as an x509.Name; raises ValueError.

    RFC 4514, read as leniently as RFC 2253 §4 asks: attribute types in any case (§3: they are
    case-insensitive), dotted OIDs with or without an "OID." prefix, whitespace around the
    separators, and ";" between RDNs. Values keep their escapes; a space that belongs to a value
    at its start or end is escaped in RFC 4514 (§2.4), so unescaped ones there are layout.
    """
    if not text.strip():
        return x509.Name([])
    rdns = []
    for rdn in _split_unescaped(text, ",;"):
        attributes = []
        for attribute in _split_unescaped(rdn, "+"):
            kind, equals, value = attribute.partition("=")
            if not equals:
                raise ValueError(f"{_strip_unescaped(attribute)[:40]!r} has no '='")
            attributes.append(f"{_attribute_type(kind.strip())}={_strip_unescaped(value)}")
        rdns.append("+".join(attributes))
    return x509.Name.from_rfc4514_string(",".join(rdns), attr_name_overrides=EXTRA_ATTRIBUTE_TYPES)


def distinguished_name_key(name: x509.Name) -> tuple:
    """What two DNs share when they name the same subject: the RDNs in order, each a set of
    (attribute OID, value) with the value case-folded and inner whitespace collapsed (the spirit
    of RFC 4518 string preparation for caseIgnoreMatch)."""
    return tuple(
        frozenset((attribute.oid.dotted_string, " ".join(str(attribute.value).split()).casefold())
                  for attribute in rdn)
        for rdn in name.rdns
    )


def _attribute_type(kind: str) -> str:
    oid = _OID_TYPE.fullmatch(kind)
    return oid.group(1) if oid else kind.upper()


def _split_unescaped(text: str, separators: str) -> list[str]:
    """`text` split at each separator that no backslash escapes."""
    parts, current, escaped = [], [], False
    for char in text:
        if char in separators and not escaped:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
        escaped = char == "\\" and not escaped
    parts.append("".join(current))
    return parts


def _strip_unescaped(value: str) -> str:
    """`value` without leading whitespace and without trailing whitespace that no backslash escapes."""
    value = value.lstrip()
    stripped = value.rstrip()
    if len(stripped) < len(value) and _ends_in_escape(stripped):
        stripped = value[:len(stripped) + 1]  # an escaped space at the end belongs to the value
    return stripped


def _ends_in_escape(text: str) -> bool:
    """True when the last character of `text` is an unescaped backslash."""
    backslashes = len(text) - len(text.rstrip("\\"))
    return backslashes % 2 == 1
