"""APIs (resource servers): what an access token's `aud` can name.

Two are built in, derived from the issuer so they follow it: the demo API and the
Management API (Auth0's `/api/v2/`). An application gets tokens only for APIs it has been
granted (ClientGrant), and only with the scopes granted.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Api:
    identifier: str
    name: str
    scopes: dict  # scope -> what it allows


MANAGEMENT_SCOPES = {
    "read:clients": "Read applications",
    "create:clients": "Create applications",
    "update:clients": "Update applications",
    "delete:clients": "Delete applications",
    "read:client_keys": "Read client secrets",
    "update:client_keys": "Rotate client secrets",
    "read:client_credentials": "Read credentials (keys, certificates)",
    "create:client_credentials": "Register credentials",
    "update:client_credentials": "Update credentials",
    "delete:client_credentials": "Delete credentials",
    "read:client_grants": "Read API grants",
    "create:client_grants": "Grant APIs",
    "update:client_grants": "Change the scopes of API grants",
    "delete:client_grants": "Revoke API grants",
    "read:logs": "Read the event log",
}


def builtin_apis(issuer: str) -> list[Api]:
    return [
        Api(f"{issuer}api/demo/", "Demo API", {"read:demo": "Read demo data", "write:demo": "Change demo data"}),
        Api(f"{issuer}api/v2/", "AppCreds Management API", MANAGEMENT_SCOPES),
    ]


def find_api(issuer: str, identifier: str) -> Api | None:
    return next((api for api in builtin_apis(issuer) if api.identifier == identifier), None)
