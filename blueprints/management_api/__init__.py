"""The Management API: Auth0's /api/v2 for applications, credentials, API grants and logs.

The third door over the domain layer, beside the dashboard and the command line: every rule
is the domain's (models/applications.py, models/credential_registry.py), so the three doors
cannot disagree, and every change is recorded with the calling application as its actor.

    api.py            the blueprint and its error handlers (Auth0's JSON shape: errors.py)
    access.py         bearer tokens for <issuer>api/v2/ and Auth0's scopes
    schemas.py        what each request and answer may hold (pydantic): validation and OpenAPI
    payloads.py       reading bodies and query strings; domain refusals -> 400/409 naming the property
    documents.py      rows in Auth0's shapes; log type codes
    clients.py        /clients, /clients/{id}/rotate-secret
    credentials.py    /clients/{id}/credentials
    client_grants.py  /client-grants
    logs.py           /logs
    openapi.py        /openapi.json
"""
from blueprints.management_api import client_grants, clients, credentials, logs, openapi  # noqa: F401 (routes)
from blueprints.management_api.api import bp

__all__ = ["bp"]
