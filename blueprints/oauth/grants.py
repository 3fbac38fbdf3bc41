"""Grant types. Authlib runs the flow; these subclasses add audiences and scopes per API."""
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import current_app

from blueprints.oauth.client_auth.mtls import binding_thumbprint, check_edge_problem_for_binding
from blueprints.oauth.tokens import issue_access_token
from models.apis import find_api

# RFC 6749 §4.4: only confidential clients may use client_credentials, so never "none".
CONFIDENTIAL_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
]


def certificate_confirmation(client) -> dict | None:
    """RFC 8705 §3: bind the token to the client certificate that came with the request, if any.

    An application that requires sender-constrained tokens gets none without a certificate,
    never a silently unbound one (Auth0: require_proof_of_possession).
    """
    check_edge_problem_for_binding()
    thumbprint = binding_thumbprint()
    if thumbprint is None:
        if client.require_proof_of_possession:
            raise InvalidRequestError("this application requires certificate-bound tokens: "
                                      "send the token request with its client certificate over mTLS")
        return None
    return {"x5t#S256": thumbprint}


def resolve_audience_and_scopes(client, requested_audience, requested_scope) -> tuple[str, list[str]]:
    """Check the requested API and scopes against the application's grants.

    No `scope` means every scope granted for that API (Auth0's behaviour for client credentials).
    """
    issuer = current_app.config["APPCREDS_ISSUER"]
    audience = requested_audience or current_app.config["APPCREDS_DEFAULT_AUDIENCE"]
    if not audience:
        raise InvalidRequestError("audience is required: name the API the token is for")
    if find_api(issuer, audience) is None:
        raise AccessDeniedError(f"no API has the identifier {audience[:200]}")
    grant = client.grant_for(audience)
    if grant is None:
        raise AccessDeniedError("the application is not granted access to this API")
    requested = scope_to_list(requested_scope) if requested_scope else None
    if requested is None:
        return audience, list(grant.scopes)
    not_granted = [scope for scope in requested if scope not in grant.scopes]
    if not_granted:
        raise InvalidScopeError(f"scope {not_granted[0][:100]} is not granted to this application for this API")
    return audience, requested


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: an application gets a token for itself."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def validate_token_request(self):
        super().validate_token_request()  # authenticates the client; checks it may use this grant
        form = self.request.form
        self.audience, self.scopes = resolve_audience_and_scopes(
            self.request.client, form.get("audience"), form.get("scope")
        )
        self.confirmation = certificate_confirmation(self.request.client)

    def create_token_response(self):
        client = self.request.client
        # RFC 9068 §2.2: with no resource owner, `sub` identifies the client (Auth0: "<client_id>@clients").
        token = issue_access_token(client, self.audience, self.scopes, subject=f"{client.client_id}@clients",
                                   confirmation=self.confirmation)
        return 200, token, self.TOKEN_RESPONSE_HEADER
