"""RFC 7009: token revocation at POST /oauth/revoke.

In order: the client authenticates with its own method, through the front door (endpoint
"revocation"; public clients send client_id); `token` is required and `token_type_hint`, if
sent, is access_token or refresh_token (§2.1) but only a hint: the token's shape decides; a token
of another client is refused (invalid_grant, as Authlib answers); an unknown, expired or
already revoked token is still a 200 (§2.2). Revoking a refresh token revokes its family and
the access tokens issued with it (§2.1 SHOULD); revoking an access token records its jti until
it expires, which the demo API and introspection check.
"""
from dataclasses import dataclass
from datetime import UTC, datetime

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as AuthlibRevocationEndpoint

from blueprints.oauth.tokens import read_access_token
from models import RefreshToken, db
from models.auth_methods import USER_FLOW_METHODS
from models.timeutil import utcnow
from models.tokens import find_refresh_token, is_access_token_revoked, revoke_access_tokens, revoke_family


@dataclass
class PresentedAccessToken:
    claims: dict

    def check_client(self, client) -> bool:
        return self.claims.get("client_id") == client.client_id

    def is_expired(self) -> bool:
        return not isinstance(self.claims.get("exp"), int) or self.claims["exp"] <= utcnow().timestamp()

    def is_revoked(self) -> bool:
        return is_access_token_revoked(self.claims.get("jti"))


@dataclass
class PresentedRefreshToken:
    row: RefreshToken

    def check_client(self, client) -> bool:
        return self.row.client_pk == client.id

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        # A rotated (used) refresh token is as dead as a revoked one.
        return self.row.used_at is not None or self.row.revoked_at is not None


def find_token(value: str, token_type_hint=None):
    """The access or refresh token `value` is, whatever the hint says (RFC 7009 §2.1), or None."""
    claims = read_access_token(value)
    if claims is not None:
        return PresentedAccessToken(claims)
    row = find_refresh_token(value)
    return PresentedRefreshToken(row) if row is not None else None


class UnsupportedTokenTypeError(OAuth2Error):
    """RFC 7009 §2.2.1, a 400 like every RFC 6749 §5.2 error (Authlib's is a 401)."""

    error = "unsupported_token_type"


def check_token_parameters(form, supported_types) -> None:
    if not form.get("token"):
        raise InvalidRequestError("token is required")
    hint = form.get("token_type_hint")
    if hint and hint not in supported_types:
        raise UnsupportedTokenTypeError(f"token_type_hint must be one of {', '.join(supported_types)}")


class RevocationEndpoint(AuthlibRevocationEndpoint):
    CLIENT_AUTH_METHODS = USER_FLOW_METHODS  # RFC 7009 §2.1: public clients may revoke their tokens

    def check_params(self, request, client):
        check_token_parameters(request.form, self.SUPPORTED_TOKEN_TYPES)

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        if isinstance(token, PresentedRefreshToken):
            revoke_family(token.row.family_id)
        elif not token.is_expired():
            revoke_access_tokens([(token.claims.get("jti"), datetime.fromtimestamp(token.claims["exp"], UTC))])
        db.session.commit()
