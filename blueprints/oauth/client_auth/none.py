"""Public clients: token_endpoint_auth_method "none" (RFC 6749 §2.1, RFC 7591 §2).

A public client (a SPA or native app) cannot keep a secret, so it only names itself with
`client_id`. That is no proof of identity: PKCE (RFC 7636) protects its authorization codes,
and it may not use grants that need a confidential client, such as client_credentials
(RFC 6749 §4.4).
"""
from blueprints.oauth.client_auth import Mechanism


def _bare_client_id(request):
    return request.form.get("client_id") or request.args.get("client_id") or None


def authenticate_none(query_client, request):
    """Hook for Authlib: the application named by `client_id`, with no credential to verify."""
    client_id = _bare_client_id(request)
    return query_client(client_id) if client_id else None


MECHANISMS = [Mechanism("none", ("none",), _bare_client_id, explicit=False)]
HOOKS = {"none": authenticate_none}
