"""RFC 7662: token introspection at POST /oauth/introspect.

In order: the client authenticates with its own method through the front door (endpoint
"introspection"; a public client cannot, so `none` is refused here); `token` is required
(§2.1); the token is found by its shape, whatever token_type_hint says; an application may
introspect only tokens issued to it, and anything else, like an unknown, expired, revoked or
rotated token, is just {"active": false} (§2.2), never an error that would confirm it exists.
"""
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as AuthlibIntrospectionEndpoint
from flask import current_app

from blueprints.oauth.revocation import PresentedRefreshToken, find_token
from blueprints.oauth.tokens import user_subject
from models.auth_methods import CONFIDENTIAL_METHODS

# RFC 7662 §2.2 members copied from an access token's claims.
ACCESS_TOKEN_MEMBERS = ("scope", "client_id", "exp", "iat", "sub", "aud", "iss", "jti", "cnf")


class IntrospectionEndpoint(AuthlibIntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def check_params(self, request, client):
        # §2.1: token_type_hint is only a hint, and RFC 7662 defines no error for an unknown one.
        if not request.form.get("token"):
            raise InvalidRequestError("token is required")

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return token.check_client(client)

    def introspect_token(self, token):
        if isinstance(token, PresentedRefreshToken):
            return refresh_token_document(token.row)
        claims = token.claims
        document = {"active": True, "token_type": "Bearer"}
        document.update({name: claims[name] for name in ACCESS_TOKEN_MEMBERS if name in claims})
        return document


def refresh_token_document(row) -> dict:
    document = {
        "active": True, "token_type": "refresh_token", "scope": " ".join(row.scopes),
        "client_id": row.client.client_id, "sub": user_subject(row.user), "aud": row.audience,
        "iss": current_app.config["APPCREDS_ISSUER"],
        "iat": int(row.created_at.timestamp()), "exp": int(row.expires_at.timestamp()),
    }
    if row.certificate_thumbprint:
        document["cnf"] = {"x5t#S256": row.certificate_thumbprint}  # RFC 8705 §3.2
    return document
