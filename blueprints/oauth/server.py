"""The authorization server: Authlib's AuthorizationServer, wired to AppCreds.

- client authentication goes through our front door (client_auth/__init__.py), which runs
  the checks registered here with `register_client_auth_method`;
- token requests may have a form or a JSON body (Auth0 accepts JSON), read from the body only;
- Authlib's defaults we do not want are replaced: the grants sign their own access tokens
  (tokens.py) instead of Authlib's bearer-token generator with 10-day lifetimes, and no access
  token is stored (codes and refresh tokens are stored by the grants, as digests);
- the server keeps its own record of the methods and grants it registered, for discovery
  (metadata.py), instead of reading Authlib's private registries.

`authorization` is one server per process, built and registered here at import, like the
other unbound extensions (Flask's "Application Factories" pattern). That is safe because what
it registers is code, never configuration: the grants, endpoints and client-authentication
checks are the same for every app. `init_authorization_server` binds it to each app.
"""
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from flask import request as http_request
from werkzeug.datastructures import MultiDict

from blueprints.oauth.client_auth import authenticate, private_key_jwt, query_client, register_methods
from blueprints.oauth.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from blueprints.oauth.introspection import IntrospectionEndpoint
from blueprints.oauth.pkce import S256CodeChallenge
from blueprints.oauth.revocation import RevocationEndpoint


def json_body(flask_request):
    """The request's JSON body, or None when it is not JSON, does not parse, or nests too deeply.

    Python's parser raises RecursionError, not ValueError, on deep nesting (`"[" * 50000`), and
    Flask's silent mode catches only ValueError.
    """
    if flask_request.mimetype != "application/json":
        return None
    try:
        return flask_request.get_json(silent=True)
    except RecursionError:
        return None


def body_parameters(flask_request) -> MultiDict:
    """The request body's parameters: form-urlencoded, or a JSON object of strings."""
    if flask_request.mimetype == "application/json":
        document = json_body(flask_request)
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
    def __init__(self):
        super().__init__(query_client=query_client, save_token=_no_token_storage)
        self.client_auth_methods: list[str] = []  # registered with register_client_auth_method
        self.token_grants: list[type] = []        # grant classes the token endpoint dispatches to

    def register_client_auth_method(self, method, func):
        super().register_client_auth_method(method, func)
        self.client_auth_methods.append(method)

    def register_grant(self, grant_cls, extensions=None):
        super().register_grant(grant_cls, extensions)
        if hasattr(grant_cls, "check_token_endpoint"):  # Authlib's own test for a token grant
            self.token_grants.append(grant_cls)

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):  # /authorize and PAR pass the parameters they resolved
            return request
        return ProtocolRequest(http_request)

    def authenticate_client(self, request, methods, endpoint="token"):
        parent = super()
        return authenticate(
            request, methods, endpoint, lambda method: parent.authenticate_client(request, [method], endpoint)
        )

    def supported_token_endpoint_auth_methods(self) -> list[str]:
        """Methods some token grant accepts and a check verifies, for discovery (RFC 8414 §2)."""
        offered = [m for grant in self.token_grants for m in grant.TOKEN_ENDPOINT_AUTH_METHODS]
        return [m for m in dict.fromkeys(offered) if m in self.client_auth_methods]

    def supported_grant_types(self) -> list[str]:
        return [grant.GRANT_TYPE for grant in self.token_grants]


def _no_token_storage(token, request):
    """Access tokens are self-contained JWTs: nothing to store per token."""


authorization = AppCredsAuthorizationServer()
authorization.register_grant(ClientCredentialsGrant)  # first: the hot path finds it at once
authorization.register_grant(AuthorizationCodeGrant, [S256CodeChallenge()])
authorization.register_grant(RefreshTokenGrant)
authorization.register_endpoint(RevocationEndpoint)
authorization.register_endpoint(IntrospectionEndpoint)
register_methods(authorization)


def init_authorization_server(app) -> None:
    """Bind the server to `app`. Authlib reads only its own OAUTH2_* settings here, which AppCreds
    leaves unset, so every app in the process configures the shared server the same way."""
    authorization.init_app(app)
    private_key_jwt.log_configuration_warnings(app)
