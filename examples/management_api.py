"""The Management API (/api/v2, Auth0's shapes): create an application, give it a key pair made here,
switch it to Private Key JWT, get a token with that key, then delete the application.

    .venv/bin/python examples/management_api.py [instance/demo/demo.json]

The calling application holds a Management API token (client_credentials) with only the scopes
these steps need: create:clients, create:client_credentials, update:clients,
update:client_credentials, create:client_grants, delete:clients.
"""
import sys
import tempfile
from pathlib import Path

import requests
from demo import REPOSITORY, TIMEOUT, argument_parser, expect, load_demo, run, show, step, verified_claims
from private_key_jwt import make_client_assertion, request_token

# write_key_pair is the same code as `flask --app app keys generate`: it runs on the application's side.
sys.path.insert(0, str(REPOSITORY))
from blueprints.cli.key_pairs import write_key_pair  # noqa: E402


def main():
    demo = load_demo(argument_parser(__doc__.splitlines()[0]).parse_args())
    caller = demo["applications"]["management_api"]
    api = demo["management_api"]["audience"].rstrip("/")  # http://.../api/v2

    step(f"a Management API token: client_credentials for {demo['management_api']['audience']}")
    token = expect(requests.post(demo["token_endpoint"], auth=(caller["client_id"], caller["client_secret"]),
                                 data={"grant_type": "client_credentials",
                                       "audience": demo["management_api"]["audience"]}, timeout=TIMEOUT),
                   200, "the Management API token")
    management = requests.Session()
    management.headers["Authorization"] = f"Bearer {token['access_token']}"
    show("scope", token.get("scope"))

    step(f"POST {api}/clients: a new machine-to-machine application")
    created = expect(management.post(f"{api}/clients", json={"name": "Example: made by management_api.py",
                                                                "app_type": "non_interactive"}, timeout=TIMEOUT),
                     201, "creating the application")
    client_id = created["client_id"]
    show("client_id", client_id)
    show("token_endpoint_auth_method", created["token_endpoint_auth_method"])
    try:
        switch_to_private_key_jwt(demo, management, api, client_id)
    finally:  # clean up even when a step failed, so the demo tenant stays as seeded
        step(f"DELETE {api}/clients/{client_id}")
        expect(management.delete(f"{api}/clients/{client_id}", timeout=TIMEOUT), 204, "deleting the application")
        show("deleted", client_id)


def switch_to_private_key_jwt(demo, management, api, client_id):
    with tempfile.TemporaryDirectory() as folder:
        step("generate a key pair here, on the application's side (the private key never leaves it)")
        key_pair = write_key_pair(Path(folder), "example-app")
        show("private key", f"{key_pair.private_key} (mode 0600)")

        step(f"POST {api}/clients/{client_id}/credentials: register the public key")
        credential = expect(management.post(f"{api}/clients/{client_id}/credentials", timeout=TIMEOUT, json={
            "credential_type": "public_key", "name": "example key", "alg": key_pair.alg,
            "pem": key_pair.public_key.read_text()}), 201, "registering the public key")
        show("credential id", credential["id"])
        show("kid", credential["kid"])  # the RFC 7638 thumbprint, as write_key_pair computed it

        # Auth0: a credential is used by no method until the application references it.
        step(f"PATCH {api}/clients/{client_id}: client_authentication_methods.private_key_jwt uses it")
        patched = expect(management.patch(f"{api}/clients/{client_id}", timeout=TIMEOUT, json={
            "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": credential["id"]}]}}}),
            200, "switching to Private Key JWT")
        # Auth0's shape: a credential method shows here, and token_endpoint_auth_method is null.
        show("client_authentication_methods", patched["client_authentication_methods"])

        step(f"POST {api}/client-grants: allow it tokens for the demo API")
        expect(management.post(f"{api}/client-grants", timeout=TIMEOUT, json={
            "client_id": client_id, "audience": demo["demo_api"]["audience"],
            "scope": [demo["demo_api"]["scope"]]}), 201, "granting the demo API")

        step("a token for the new application, with a client assertion signed by the new key")
        assertion = make_client_assertion(client_id, demo["issuer"], key_pair.private_key.read_text(),
                                          credential["kid"], key_pair.alg)
        issued = expect(request_token(demo, client_id, assertion), 200, "the token request with the new key")
        show("access token for client_id",
             verified_claims(demo, issued["access_token"], demo["demo_api"]["audience"])["client_id"])


if __name__ == "__main__":
    run(main)
