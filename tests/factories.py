"""Plain functions that make test data through the same operations the dashboard uses."""
import base64
import datetime
import functools
import hmac
import json
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from blueprints.credential_documents import credential_document
from models import AuthEvent, db
from models.applications import create_application, find_application, grant_api, set_auth_method
from models.credential_registry import add_public_key_credential

ISSUER = "http://127.0.0.1:5000/"
DEMO_API = ISSUER + "api/demo/"
TOKEN_URL = "/oauth/token"


def make_app(app, method="client_secret_basic", app_type="non_interactive", grant=DEMO_API,
             scopes=("read:demo",), name="Test app", **kwargs):
    """Create an application granted `grant` with `scopes`; returns (client_id, secret)."""
    with app.app_context():
        client, secret = create_application(name, app_type, method, **kwargs)
        if grant:
            grant_api(client, grant, list(scopes))
        db.session.commit()
        return client.client_id, secret


def events(app, client_id=None, token_requests=False):
    """Auth events, newest first (optionally only those naming `client_id`).

    A token request's own outcome record (event_type token_request) is left out unless asked
    for: most tests look at the client-authentication record it follows.
    """
    with app.app_context():
        query = db.select(AuthEvent).order_by(AuthEvent.id.desc())
        if not token_requests:
            query = query.where(AuthEvent.event_type != "token_request")
        if client_id is not None:
            query = query.where(AuthEvent.client_id_sent == client_id)
        rows = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return rows


def last_event(app, client_id=None):
    rows = events(app, client_id)
    assert rows, "no auth event was recorded"
    return rows[0]


# --- Private Key JWT (RFC 7523): keys, assertions, registered credentials -----------------------

@functools.cache
def make_rsa_key(name="default", bits=2048):
    """An RSA private key, made once per test session for each name."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def make_ec_key(name="default"):
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(private_key, pkcs1=False) -> str:
    """The public half as PEM: SPKI (BEGIN PUBLIC KEY) or, for RSA, PKCS#1 (BEGIN RSA PUBLIC KEY)."""
    fmt = serialization.PublicFormat.PKCS1 if pkcs1 else serialization.PublicFormat.SubjectPublicKeyInfo
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def make_rsa_certificate(key, days_valid=30, expired=False, common_name="client") -> str:
    """A self-signed X.509 certificate (PEM) for an RSA key, expired a day ago if asked."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    not_after = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days_valid)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=2)).not_valid_after(not_after)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def private_pem(private_key, fmt=serialization.PrivateFormat.PKCS8) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_compact(header: dict, claims, key=None) -> str:
    """A compact JWS built by hand (no JOSE library), so tests can send anything at all.

    `claims` is a dict (JSON-encoded) or raw bytes. `key`: an RSA or EC private key, or bytes
    for HS*. alg "none" (or any unknown alg) gets an empty signature.
    """
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(payload)}".encode()
    alg = header.get("alg") or ""
    digest = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}.get(alg[2:])
    if alg.startswith("RS") and digest:
        signature = key.sign(signing_input, padding.PKCS1v15(), digest())
    elif alg.startswith("PS") and digest:
        scheme = padding.PSS(mgf=padding.MGF1(digest()), salt_length=digest.digest_size)
        signature = key.sign(signing_input, scheme, digest())
    elif alg.startswith("HS") and digest:
        signature = hmac.new(key, signing_input, digest.name).digest()
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = b""
    return f"{signing_input.decode()}.{_b64url(signature)}"


def make_assertion(client_id, key, kid=None, alg="RS256", header=None, **overrides) -> str:
    """A client assertion as RFC 7523 §3 and Auth0 want it, valid for 60 s from now.

    `overrides` replace claims (a value of None removes the claim); `header` adds or replaces
    header parameters (None removes one, e.g. header={"typ": None}).
    """
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    claims.update(overrides)
    jose_header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {}), **(header or {})}
    return sign_compact({k: v for k, v in jose_header.items() if v is not None},
                        {k: v for k, v in claims.items() if v is not None}, key)


def register_key(app, client_id, key=None, alg="RS256", use="private_key_jwt", pem=None, **kwargs) -> dict:
    """Register a public key (or `pem`) for the application through the registry; returns the credential."""
    with app.app_context():
        client = find_application(client_id)
        credential = add_public_key_credential(client, use, pem or public_pem(key), alg=alg, **kwargs)
        db.session.commit()
        return credential_document(credential)


def make_jwt_app(app, key=None, alg="RS256", **kwargs):
    """An application that authenticates with private_key_jwt; returns (client_id, key, kid)."""
    key = key or make_rsa_key(f"jwt-app-{alg}")
    client_id, _ = make_app(app, **kwargs)
    kid = register_key(app, client_id, key, alg)["kid"]
    with app.app_context():
        set_auth_method(find_application(client_id), "private_key_jwt")
        db.session.commit()
    return client_id, key, kid
