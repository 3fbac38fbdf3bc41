"""Access tokens: JWTs in the RFC 9068 profile, signed RS256 with the server's current key.

Nothing is stored per token: a verifier needs only the published JWKS. This is what keeps
the token endpoint fast (one RSA signature is most of its cost).
"""
import secrets
import time

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from models.signing_keys import SIGNING_ALG
from models.state import app_state


def user_subject(user) -> str:
    """RFC 9068 §2.2 `sub` for a person (Auth0's "<connection>|<id>" shape)."""
    return f"appcreds|{user.id}"


def issue_access_token(client, audience: str, scopes: list[str], subject: str, confirmation=None) -> dict:
    """Sign an access token and return the RFC 6749 §5.1 token response."""
    return sign_access_token(client, audience, scopes, subject, confirmation)[0]


def sign_access_token(client, audience: str, scopes: list[str], subject: str, confirmation=None) -> tuple[dict, dict]:
    """Sign an access token; returns the token response and the claims (their jti and exp, for revocation)."""
    now = int(time.time())
    lifetime = int(current_app.config["APPCREDS_ACCESS_TOKEN_LIFETIME"])
    kid, key = app_state().signing_keys.current()
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
    # RFC 9068 §2.1: the header type is "at+jwt", so an ID token cannot pass for an access token.
    header = {"alg": SIGNING_ALG, "typ": "at+jwt", "kid": kid}
    return {
        "access_token": jwt.encode(header, claims, key, algorithms=[SIGNING_ALG]),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": claims["scope"],
    }, claims


def read_access_token(token: str) -> dict | None:
    """The claims of an access token this server signed (signature, typ, iss checked), else None.

    Expiry, audience and revocation are the caller's to judge (introspection, revocation).
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        return None
    keys = app_state().signing_keys.public_key_set()
    try:
        decoded = jwt.decode(token, keys, algorithms=[SIGNING_ALG])
    except (JoseError, ValueError):
        return None
    # RFC 9068 §2.1 / §4: an access token has typ at+jwt and our issuer.
    if str(decoded.header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        return None
    if decoded.claims.get("iss") != current_app.config["APPCREDS_ISSUER"]:
        return None
    return decoded.claims
