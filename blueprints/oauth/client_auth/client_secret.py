"""RFC 6749 §2.3.1: client_secret_basic and client_secret_post.

client_secret_basic: `Authorization: Basic base64(id ":" secret)`, where id and secret are each
  form-urlencoded first (RFC 6749 §2.3.1 and Appendix B), so "+" decodes to a space.
client_secret_post: `client_id` and `client_secret` in the request body (never the URI).
Each check starts from the application the front door loaded and reads only the secret; it
is compared as keyed digests in constant time (models/encryption.py). The inspector records that
each check passed (blueprints/oauth/inspection.py), never the secret itself.
"""
import base64
import binascii
from urllib.parse import unquote_plus

from blueprints.oauth.errors import ClientAuthFailure
from blueprints.oauth.inspection import passed
from models.client_secrets import check_client_secret


def read_basic_credentials(headers) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header; None without one; raises when malformed."""
    authorization = headers.get("Authorization")
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None  # another scheme (for example DPoP) is not a client credential
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ClientAuthFailure("malformed_basic_header", "the Basic header is not base64 of UTF-8 text",
                                description="malformed Basic authorization header") from None
    if ":" not in decoded:
        raise ClientAuthFailure("malformed_basic_header", "the Basic credentials have no colon",
                                description="malformed Basic authorization header")
    raw_id, raw_secret = decoded.split(":", 1)
    try:
        # RFC 6749 Appendix B: both parts are application/x-www-form-urlencoded before base64.
        client_id, secret = unquote_plus(raw_id, errors="strict"), unquote_plus(raw_secret, errors="strict")
    except UnicodeDecodeError:
        raise ClientAuthFailure("malformed_basic_header", "a percent-escape in the Basic credentials is not UTF-8",
                                description="malformed Basic authorization header") from None
    if not client_id:
        raise ClientAuthFailure("malformed_basic_header", "the Basic credentials have an empty client id",
                                description="malformed Basic authorization header")
    return client_id, secret


def find_basic_client_id(request) -> str | None:
    """The client_secret_basic mechanism: the client id in an HTTP Basic header, if one came."""
    credentials = read_basic_credentials(request.headers)
    return credentials[0] if credentials else None


def find_post_client_id(request) -> str | None:
    """The client_secret_post mechanism: body `client_id` ("" when missing), if `client_secret` came."""
    if "client_secret" not in request.form:
        return None
    return request.form.get("client_id") or ""


def authenticate_client_secret_basic(client, request):
    """The application, if the secret in the Basic header matches its secret."""
    credentials = read_basic_credentials(request.headers)
    if credentials is None:
        return None
    _client_id, secret = credentials
    passed("Basic credentials decode: form-urlencoded id and secret (RFC 6749 §2.3.1)")
    check_secret(client, secret)
    return client


def authenticate_client_secret_post(client, request):
    """The application, if body `client_secret` matches its secret."""
    secret = request.form.get("client_secret")
    if secret is None:
        return None
    check_secret(client, secret)
    return client


def check_secret(client, secret: str) -> None:
    if not client.has_secret:
        raise ClientAuthFailure("no_secret", "the application has no client secret")
    passed("the application has a client secret")
    if not check_client_secret(client, secret):
        raise ClientAuthFailure("wrong_secret", "the client secret does not match the current secret")
    passed("the secret matches the current secret (keyed digests compared in constant time)")
