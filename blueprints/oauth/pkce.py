"""RFC 7636: Proof Key for Code Exchange, S256 only.

At /authorize and PAR (`check_code_challenge`), in order: a public client (`none`) must send a
challenge, and so must a confidential one unless its application opts out (`require_pkce`,
RFC 9700 §2.1.1); a challenge needs code_challenge_method, which must be S256 (never plain, and never
plain by default as RFC 7636 §4.3 would have it); the challenge is 43 base64url characters.
At the token endpoint Authlib's CodeChallenge compares BASE64URL(SHA256(verifier)) with the
stored challenge, requires a verifier whenever a challenge was stored, refuses one when none
was (RFC 9700 §4.8.2), and requires one from every public client.
"""
import re

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

from models.auth_methods import NONE

CODE_CHALLENGE_METHODS = ["S256"]
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


class S256CodeChallenge(CodeChallenge):
    """Authlib's extension, narrowed to S256 and required for public clients at both steps."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"  # only ever used for codes stored with a method anyway
    SUPPORTED_CODE_CHALLENGE_METHOD = CODE_CHALLENGE_METHODS

    def __init__(self):
        super().__init__(required=True)

    def validate_code_challenge(self, grant, redirect_uri):
        check_code_challenge(grant.request.client, grant.request.payload.data)


def check_code_challenge(client, parameters) -> None:
    """Raise invalid_request unless the authorization request's PKCE parameters are acceptable."""
    challenge, method = parameters.get("code_challenge"), parameters.get("code_challenge_method")
    if not challenge and not method:
        # RFC 9700 §2.1.1, RFC 7636 §4.4.1: a public client cannot protect its code otherwise.
        if client.token_endpoint_auth_method == NONE:
            raise InvalidRequestError("code_challenge is required for public clients (PKCE, RFC 7636)")
        # RFC 9700 §2.1.1: PKCE also stops authorization-code injection against confidential clients.
        if client.require_pkce:
            raise InvalidRequestError("code_challenge is required: this application requires PKCE (RFC 7636) "
                                      "with code_challenge_method S256")
        return
    if not challenge:
        raise InvalidRequestError("code_challenge_method was sent without code_challenge")
    # RFC 7636 §4.3 defaults a missing method to plain; AppCreds accepts S256 only (RFC 9700 §2.1.1).
    if not method:
        raise InvalidRequestError("code_challenge_method is required and must be S256")
    if method not in CODE_CHALLENGE_METHODS:
        raise InvalidRequestError("code_challenge_method must be S256 (plain is not accepted)")
    if not S256_CHALLENGE.fullmatch(challenge):
        raise InvalidRequestError("code_challenge must be 43 base64url characters (an S256 challenge)")
