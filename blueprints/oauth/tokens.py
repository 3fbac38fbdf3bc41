"""Access tokens: JWTs in the RFC 9068 profile, signed with the server's current key
(APPCREDS_ACCESS_TOKEN_ALG: RS256, PS256, ES256 or EdDSA; models/signing_keys.py).

Nothing is stored per token: a verifier needs only the published JWKS. This is what keeps
the token endpoint fast: the header is serialised once per key, so a token costs one
json.dumps of its claims and one signature (most of the cost with RSA).
"""
import secrets
import time
import warnings

from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import JoseError, SecurityWarning

from models.state import app_state

MAX_ACCESS_TOKEN_LENGTH = 8192


def user_subject(user) -> str:
    """RFC 9068 §2.2 `sub` for a person (Auth0's "<connection>|<id>" shape)."""
    return f"appcreds|{user.id}"


def issue_access_token(client, audience: str, scopes: list[str], subject: str, confirmation=None) -> dict:
    """Sign an access token and return the RFC 6749 §5.1 token response."""
    return sign_access_token(client, audience, scopes, subject, confirmation)[0]


def sign_access_token(client, audience: str, scopes: list[str], subject: str, confirmation=None) -> tuple[dict, dict]:
    """Sign an access token; returns the token response and the claims (their jti and exp, for revocation)."""
    now = int(time.time())  # before the key is looked up: a key retired after this moment still covers exp
    lifetime = int(current_app.config["APPCREDS_ACCESS_TOKEN_LIFETIME"])
    signing_key = app_state().signing_keys.current()
    claims = {  # RFC 9068 §2.2
        "iss": current_app.config["APPCREDS_ISSUER"],
        "sub": subject,
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "jti": secrets.token_urlsafe(16),
        "client_id": client.client_id,
        "scope": " ".join(scopes),
    }
    if confirmation:
        claims["cnf"] = confirmation  # RFC 8705 §3.1 certificate binding
    return {
        # RFC 9068 §2.1: the key's fixed header says typ "at+jwt", so an ID token cannot pass for an access token.
        "access_token": signing_key.sign_jwt(claims),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": claims["scope"],
    }, claims


def read_access_token(token: str) -> dict | None:
    """The claims of an access token this server signed (signature, typ, iss checked), else None.

    Expiry, audience and revocation are the caller's to judge (introspection, revocation).
    """
    decoded = verify_access_token_signature(token)
    if decoded is None:
        return None
    # RFC 9068 §2.1 / §4: an access token has typ at+jwt and our issuer.
    if str(decoded.header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        return None
    if decoded.claims.get("iss") != current_app.config["APPCREDS_ISSUER"]:
        return None
    return decoded.claims


def verify_access_token_signature(token: str) -> jwt.Token | None:
    """The decoded token (joserfc's header and claims) if a published key signed it, else None.

    RFC 8725 §3.1: the key is found by the header's kid, and the header's alg must be the one that
    key is published with; only then is the signature checked, with that algorithm alone.
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > MAX_ACCESS_TOKEN_LENGTH:
        return None
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()  # not yet verified: it only names the key
    except (JoseError, ValueError):
        return None
    key = app_state().signing_keys.verification_key(header.get("kid"), header.get("alg"))
    if key is None:
        return None
    try:
        if key.alg != "EdDSA":
            return jwt.decode(token, key, algorithms=[key.alg])
        with warnings.catch_warnings():
            # RFC 9864 deprecates the name "EdDSA" for the fully specified "Ed25519", and joserfc warns on
            # every use; AppCreds keeps "EdDSA" (with Ed25519 keys), the name verifiers' libraries know today.
            warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
            return jwt.decode(token, key, algorithms=["EdDSA"])
    except (JoseError, ValueError):
        return None
