"""Public clients: token_endpoint_auth_method "none" (RFC 6749 §2.1, RFC 7591 §2).

A public client (a SPA or native app) cannot keep a secret, so it only names itself with
`client_id`. That is no proof of identity: PKCE (RFC 7636) protects its authorization codes,
and it may not use grants that need a confidential client, such as client_credentials
(RFC 6749 §4.4).
"""


def find_bare_client_id(request) -> str | None:
    """The none mechanism: a `client_id` and nothing else that identifies the client."""
    return request.form.get("client_id") or request.args.get("client_id") or None


def authenticate_none(client, request):
    """The application the front door loaded by its `client_id`: there is no credential to verify."""
    return client
