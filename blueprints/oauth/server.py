"""The authorization server: Authlib's AuthorizationServer, wired to AppCreds.

- client authentication goes through our front door (client_auth/__init__.py), which runs
  the hooks registered here with `register_client_auth_method`;
- token requests may have a form or a JSON body (Auth0 accepts JSON), read from the body only;
- Authlib's defaults we do not want are replaced: no bearer-token generator with 10-day
  lifetimes, no storage of access tokens (codes and refresh tokens are stored by the grants,
  as digests).
"""
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from flask import request as http_request
from werkzeug.datastructures import MultiDict

from blueprints.oauth import client_auth
from blueprints.oauth.client_auth import private_key_jwt
from blueprints.oauth.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from blueprints.oauth.introspection import IntrospectionEndpoint
from blueprints.oauth.pkce import S256CodeChallenge
from blueprints.oauth.revocation import RevocationEndpoint


def body_parameters(flask_request) -> MultiDict:
    """The request body's parameters: form-urlencoded, or a JSON object of strings."""
    if flask_request.mimetype == "application/json":
        document = flask_request.get_json(silent=True)
        if isinstance(document, dict):
            return MultiDict({k: v for k, v in document.items() if isinstance(v, str)})
        return MultiDict()
    return flask_request.form


class BodyPayload(OAuth2Payload):
    def __init__(self, form: MultiDict):
        self._form = form

    @property
    def data(self):
        return self._form

    @property
    def datalist(self):
        return {key: self._form.getlist(key) for key in self._form}


class ProtocolRequest(FlaskOAuth2Request):
    """An OAuth2Request whose parameters come from the body only (RFC 6749 §3.2, §4.4.2)."""

    def __init__(self, flask_request):
        super().__init__(flask_request)
        self._form = body_parameters(flask_request)
        self.payload = BodyPayload(self._form)

    @property
    def form(self):
        return self._form


class AppCredsAuthorizationServer(AuthorizationServer):
    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):  # /authorize and PAR pass the parameters they resolved
            return request
        return ProtocolRequest(http_request)

    def authenticate_client(self, request, methods, endpoint="token"):
        parent = super()
        return client_auth.authenticate(
            request, methods, endpoint, lambda method: parent.authenticate_client(request, [method], endpoint)
        )

    def supported_token_endpoint_auth_methods(self) -> list[str]:
        """Methods some token grant accepts and a hook verifies, for discovery (RFC 8414 §2)."""
        registered = set(self._client_auth._methods) if self._client_auth else set()
        offered = [m for grant, _ in self._token_grants for m in grant.TOKEN_ENDPOINT_AUTH_METHODS]
        return [m for m in dict.fromkeys(offered) if m in registered]

    def supported_grant_types(self) -> list[str]:
        return [grant.GRANT_TYPE for grant, _ in self._token_grants]


def _no_token_storage(token, request):
    """Access tokens are self-contained JWTs: nothing to store per token."""


authorization = AppCredsAuthorizationServer()


def init_authorization_server(app) -> None:
    authorization.init_app(app, query_client=client_auth.query_client, save_token=_no_token_storage)
    private_key_jwt.log_configuration_warnings(app)
    if not authorization._token_grants:  # the module-level server is shared by every app in a process
        authorization.register_grant(ClientCredentialsGrant)  # first: the hot path finds it at once
        authorization.register_grant(AuthorizationCodeGrant, [S256CodeChallenge()])
        authorization.register_grant(RefreshTokenGrant)
        authorization.register_endpoint(RevocationEndpoint)
        authorization.register_endpoint(IntrospectionEndpoint)
        client_auth.register_methods(authorization)
